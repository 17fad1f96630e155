"""A tiny CLIP-like ONNX pair for tests, built with the ``onnx`` helper API (no weights downloaded).

The image encoder takes the mean colour of the normalised picture (RGB in [-1, 1] with mean = std = 0.5,
from the ``preprocessor_config.json`` written beside it) and maps it into 4-D; the text encoder sums the
embeddings of the words of a WordLevel ``tokenizer.json``. Words that name a colour or a light get the
direction of that colour, every other word is zero, so "a red thing" lands on red pictures.

Also: ``FakeTags``, a stand-in for the tags annotator that writes rows of the real ``tags`` schema from each
clip's dominant colour (for the text-search tests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from toonset.annotate.base import Annotations, Annotator, ClipItem, TableSpec
from toonset.annotate.tags import TAGS, TAGS_KEY

# direction of each word in the 4-D space: (R, G, B, 1) in normalised units; 0 for every other word
WORDS: dict[str, tuple[float, float, float, float]] = {
    "red": (1, -1, -1, 0), "green": (-1, 1, -1, 0), "blue": (-1, -1, 1, 0),
    "daylight": (1, 1, 1, 0), "night": (-1, -1, -1, 0), "sunset": (1, 0, -1, 0),
}
DIM = 4


def build_clip_pair(folder: Path, with_text: bool = True, with_config: bool = True, gain: float = 1.0) -> Path:
    """Write ``image_encoder.onnx`` (+ ``text_encoder.onnx``, ``tokenizer.json``,
    ``preprocessor_config.json``) into ``folder``; returns the folder. ``gain`` scales the image projection
    (other weights, the same directions)."""
    import json

    import onnx
    from onnx import TensorProto, helper, numpy_helper

    folder.mkdir(parents=True, exist_ok=True)
    proj = np.zeros((3, DIM), np.float32)
    proj[:3, :3] = np.eye(3) * gain
    img = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["pixel_values"], ["pooled"]),
         helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
         helper.make_node("MatMul", ["flat", "proj"], ["image_embeds"])],
        "tiny_image", [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["n", DIM])],
        [numpy_helper.from_array(proj, "proj")])
    _save(onnx, helper, img, folder / "image_encoder.onnx")
    if with_config:
        (folder / "preprocessor_config.json").write_text(json.dumps({
            "size": {"shortest_edge": 32}, "crop_size": {"height": 32, "width": 32}, "do_center_crop": True,
            "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}))
    if not with_text:
        return folder
    vocab = {"[PAD]": 0, "[UNK]": 1, **{w: i + 2 for i, w in enumerate(WORDS)}}
    table = np.zeros((len(vocab), DIM), np.float32)
    for w, i in vocab.items():
        if w in WORDS:
            table[i] = WORDS[w]
    txt = helper.make_graph(
        [helper.make_node("Gather", ["table", "input_ids"], ["emb"], axis=0),
         helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
         helper.make_node("Unsqueeze", ["maskf", "axis"], ["mask3"]),
         helper.make_node("Mul", ["emb", "mask3"], ["masked"]),
         helper.make_node("ReduceSum", ["masked", "sum_axis"], ["text_embeds"], keepdims=0)],
        "tiny_text",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["n", "l"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["n", "l"])],
        [helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT, ["n", DIM])],
        [numpy_helper.from_array(table, "table"), numpy_helper.from_array(np.array([-1], np.int64), "axis"),
         numpy_helper.from_array(np.array([1], np.int64), "sum_axis")])
    _save(onnx, helper, txt, folder / "text_encoder.onnx")
    _write_tokenizer(vocab, folder / "tokenizer.json")
    return folder


def _save(onnx, helper, graph, path: Path) -> None:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by older onnxruntime builds too
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _write_tokenizer(vocab: dict[str, int], path: Path) -> None:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.normalizers import Lowercase
    from tokenizers.pre_tokenizers import Whitespace

    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = Lowercase()
    tok.pre_tokenizer = Whitespace()
    tok.save(str(path))


def dominant(rgb: np.ndarray) -> str:
    """'red' | 'green' | 'blue' | 'white' | 'dark' | 'other' of a picture, by its mean colour."""
    m = rgb.reshape(-1, 3).mean(0)
    if m.min() > 170:
        return "white"
    if m.max() < 70:
        return "dark"
    top = int(np.argmax(m))
    if m[top] - np.sort(m)[-2] > 60:
        return ("red", "green", "blue")[top]
    return "other"


# tags a clip gets from its dominant colour (FakeTags)
COLOUR_TAGS = {"red": ["explosion", "fire", "smoke"], "green": ["forest", "grass", "tree"],
               "blue": ["ocean", "water", "swimming"], "white": ["snow", "winter"], "dark": ["night", "moon"]}


class FakeTags(Annotator):
    """Tags from the first keyframe's dominant colour, in the real ``tags`` table."""

    name = "tags"
    version = "test"
    tables: ClassVar[dict[str, TableSpec]] = {"tags": TableSpec(TAGS, TAGS_KEY)}

    def annotate(self, batch: list[ClipItem]) -> Annotations:
        out = Annotations()
        for item in batch:
            first = next(iter(item.pictures))
            for i, tag in enumerate(COLOUR_TAGS.get(dominant(item.pictures[first]), ["animation"])):
                row: dict[str, Any] = {"clip_id": item.clip_id, "tag": tag, "category": "general",
                                       "score": 1.0 - 0.1 * i, "origin": "tagger", "keyframes": 1,
                                       "category_source": "test"}
                out.add("tags", row)
        return out
