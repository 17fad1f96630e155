"""The ``taxonomy`` annotator: Sakuga-42M's six axes, zero-shot from CLIP/SigLIP vectors.

Axes and classes are those of the Sakuga-42M release (Pan et al. 2024, "Sakuga-42M Dataset: Scaling Up
Cartoon Research", arXiv:2405.07425; the taxonomy table of the SakugaDataset repository's
``instruction/dataset_details.md``): time, venue, media, filming, composition, character, each with an
``others`` class (label -1 there). Upstream derived them from booru-style tags; here each class is a few
text prompts embedded by the pair's text encoder (their mean: prompt ensembling), compared with the clip's
image vector (the ``embeddings`` annotator's clip vector of the same weights when stored, else computed
from the keyframe pictures), softmax(cosine / ``temperature``). The top class and its probability are
stored per axis; ``others`` when that probability is under ``others_below`` (0: never).

Without a model every axis is null and ``reason`` says so: a label is never guessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from toonset.annotate.base import Annotations, Annotator, ClipItem, TableSpec
from toonset.annotate.embeddings import (
    CLIP_FRAME,
    ClipPair,
    embed_clip_pictures,
    l2_normalise,
    load_pair,
    pair_params,
)
from toonset.errors import UsageError
from toonset.pipeline.stage import Resources

OTHERS = "others"
NO_MODEL = "no image/text model: set annotate.taxonomy.model_dir"

# axis → class → prompts (upstream class names; upstream label ids in docs/annotators/embeddings.md)
AXES: dict[str, dict[str, list[str]]] = {
    "time": {
        "daylight": ["an anime scene in daylight", "a cartoon scene during the day, bright sky"],
        "night": ["an anime scene at night", "a cartoon scene at night, dark sky"],
        "sunset": ["an anime scene at sunset", "a cartoon scene at sunset, orange evening sky"],
    },
    "venue": {
        "outdoors": ["an anime scene outdoors", "a cartoon scene outside, in the open air"],
        "indoors": ["an anime scene indoors", "a cartoon scene inside a room"],
    },
    "media": {
        "sketch": ["a rough pencil sketch animation", "an uncoloured line drawing, a sketch"],
        "color_trace": ["a colour trace animation drawing, coloured pencil lines", "a drawing with colour trace lines"],
    },
    "filming": {
        "looking_at_viewer": ["an anime character looking at the viewer", "a cartoon character facing the camera"],
        "looking_away": ["an anime character looking away", "a cartoon character looking to the side"],
    },
    "composition": {
        "full_body": ["a full body shot of an anime character", "a cartoon character seen from head to toe"],
        "upper_body": ["an upper body shot of an anime character", "a cartoon character from the waist up"],
        "lower_body": ["a shot of an anime character's legs", "the lower body of a cartoon character"],
        "out_of_frame": ["an anime character partly out of frame", "a cartoon shot cut off at the frame edge"],
    },
    "character": {
        "no_humans": ["an anime scene with no people", "a cartoon background without characters"],
        "solo": ["a single anime character alone", "one cartoon character"],
        "multiple": ["several anime characters together", "a group of cartoon characters"],
    },
}

TAXONOMY = pa.schema(
    [("clip_id", pa.string())]
    + [f for axis in AXES for f in (pa.field(axis, pa.string()), pa.field(f"{axis}_prob", pa.float32()))]
    + [("reason", pa.string())])


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def classify(vec: np.ndarray, classes: list[str], class_vecs: np.ndarray, temperature: float,
             others_below: float = 0.0) -> tuple[str, float]:
    """(class, probability) of a unit vector against unit class vectors: softmax(cos / temperature)."""
    p = softmax(class_vecs @ vec / temperature)
    top = int(np.argmax(p))
    return (OTHERS if p[top] < others_below else classes[top]), float(p[top])


def merged_prompts(overrides: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """The built-in prompts with ``prompts`` settings laid over them (an axis given replaces its classes)."""
    out = {axis: {c: list(p) for c, p in classes.items()} for axis, classes in AXES.items()}
    for axis, classes in (overrides or {}).items():
        if axis not in AXES:
            raise UsageError(f"annotate.taxonomy.prompts: unknown axis {axis!r} (axes: {', '.join(AXES)})")
        if not isinstance(classes, dict) or not classes:
            raise UsageError(f"annotate.taxonomy.prompts.{axis}: a table of class = [prompts] expected")
        out[axis] = {str(c): [p] if isinstance(p, str) else [str(x) for x in p] for c, p in classes.items()}
    return out


def stored_clip_vector(item: ClipItem, model: str) -> np.ndarray | None:
    """The clip image vector the ``embeddings`` annotator stored for ``model``, if any."""
    for rows in item.prior.get("embeddings", {}).values():
        for r in rows:
            if r.get("kind") == "image" and r.get("frame") == CLIP_FRAME and r.get("model") == model:
                return l2_normalise(np.asarray(r["vector"], np.float32))
    return None


class TaxonomyAnnotator(Annotator):
    """Per clip: a class and its probability on each Sakuga-42M axis (or nulls and the reason)."""

    name = "taxonomy"
    version = "1"
    resources = Resources(cpus=1.0, memory_mb=1024)
    batch_size = 16
    tables: ClassVar[dict[str, TableSpec]] = {"taxonomy": TableSpec(TAXONOMY, ("clip_id",))}
    requires = ("embeddings",)  # its clip vectors are reused when they came from the same weights
    needs_pictures = True

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {"model_dir": "", "temperature": 0.01, "others_below": 0.0, "prompts": {}, "max_keyframes": 0,
                "image_size": 0, "image_mean": [], "image_std": [], "text_length": 0, "max_text_tokens": 77,
                "device": "auto"}

    def setup(self) -> None:
        p = self.params
        self.pair: ClipPair | None = None
        self.classes: dict[str, tuple[list[str], np.ndarray]] = {}
        if float(p["temperature"]) <= 0:
            raise UsageError("annotate.taxonomy.temperature must be > 0")
        prompts = merged_prompts(p["prompts"])
        if not p["model_dir"]:
            return
        self.pair = load_pair(str(p["model_dir"]), "annotate.taxonomy.model_dir", pair_params(p), True)
        for axis, classes in prompts.items():
            names = list(classes)
            vecs = [l2_normalise(self.pair.encode_texts(classes[c]).mean(0)) for c in names]
            self.classes[axis] = (names, np.stack(vecs))

    def model_files(self) -> list[Path]:
        return self.pair.files() if self.pair else []

    def annotate(self, batch: list[ClipItem]) -> Annotations:
        out = Annotations()
        for item in batch:
            row: dict[str, Any] = {"clip_id": item.clip_id, "reason": None}
            for axis in AXES:
                row[axis] = row[f"{axis}_prob"] = None
            out.coverage[item.clip_id] = 0
            if self.pair is None:
                row["reason"] = NO_MODEL
                out.add("taxonomy", row)
                continue
            vec = stored_clip_vector(item, self.pair.image_tag)
            if vec is None:
                frames, _, vec = embed_clip_pictures(self.pair, item, int(self.params["max_keyframes"]))
                out.coverage[item.clip_id] = len(frames)
            if vec is None:
                row["reason"] = "no keyframe pictures"
            else:
                for axis, (names, vecs) in self.classes.items():
                    row[axis], row[f"{axis}_prob"] = classify(vec, names, vecs, float(self.params["temperature"]),
                                                              float(self.params["others_below"]))
            out.add("taxonomy", row)
        return out
