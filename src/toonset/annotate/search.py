"""``toonset search``: rank clips against a text query with the vectors the ``embeddings`` annotator stored.

The query is embedded by the same weights that made the stored vectors (the ``model`` column names them
``<file>@<sha256[:12]>``; the run's params say where they were): text→image when clip image vectors exist
and their folder still holds the image encoder and a text encoder, else text→text over the clips' words
(caption, tags, OCR) with the text model. Weights that are gone or changed are refused, never substituted.
Ranking is a cosine (dot product of unit vectors) in numpy; DuckDB can do the same over the Parquet table
with ``list_cosine_similarity`` (docs/annotators/embeddings.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from toonset.annotate.base import MissingModelError
from toonset.annotate.embeddings import (
    CLIP_FRAME,
    load_pair,
    load_text_model,
    model_tag,
    pair_params,
    text_model_folder,
)
from toonset.errors import UsageError


def top_k(vectors: np.ndarray, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    """(row, cosine) of the ``k`` rows nearest ``query`` (unit vectors), best first, ties by row."""
    if vectors.size == 0 or k <= 0:
        return []
    scores = vectors @ query.reshape(-1)
    order = np.lexsort((np.arange(len(scores)), -scores))[:k]
    return [(int(i), float(scores[i])) for i in order]


def _clip_vectors(table: pa.Table, kind: str) -> dict[str, pa.Table]:
    """Clip-level vectors of one kind, per model."""
    sel = table.filter(pc.and_(pc.equal(table["kind"], kind), pc.equal(table["frame"], CLIP_FRAME)))
    return {m: sel.filter(pc.equal(sel["model"], m)) for m in sorted(set(sel["model"].to_pylist()))}


def _matrix(rows: pa.Table) -> np.ndarray:
    return np.asarray(rows["vector"].to_pylist(), np.float32)


def _params(rows: pa.Table) -> dict[str, Any]:
    raw = rows["params"][0].as_py() if "params" in rows.column_names and rows.num_rows else "{}"
    return json.loads(raw or "{}")


def _image_query(rows: pa.Table, model: str, query: str) -> tuple[np.ndarray | None, str]:
    """The query in the image space of ``model``, or (None, why not)."""
    params = _params(rows)
    folder = str(params.get("model_dir") or "")
    if not folder or not Path(folder).is_dir():
        return None, f"image vectors of {model} were made from {folder!r}, which is not there any more"
    try:
        pair = load_pair(folder, "annotate.embeddings.model_dir", pair_params(params))
    except MissingModelError as exc:
        return None, str(exc)
    if pair.image_tag != model:
        return None, f"{folder} now holds {pair.image_tag}, not the {model} that made the stored vectors"
    if not pair.has_text:
        return None, f"{folder} has no text encoder + tokenizer.json to embed a query for image search"
    return pair.encode_texts([query])[0], ""


def _text_query(rows: pa.Table, model: str, query: str) -> tuple[np.ndarray | None, str]:
    params = _params(rows)
    try:
        folder = text_model_folder(str(params.get("text_model") or ""), "annotate.embeddings.text_model")
        weights = Path(folder) / "model.safetensors"
        if not weights.is_file() or model_tag(weights, model.split("@")[0]) != model:
            return None, f"the text model {model} that made the stored vectors is not at {folder}"
        tm = load_text_model(folder, "annotate.embeddings.text_model", str(params.get("text_backend") or "numpy"))
    except (MissingModelError, ImportError) as exc:
        return None, f"the text model {model} is not available: {exc}"
    return tm.encode([query])[0], ""


def search_dataset(dataset: str | Path, query: str, k: int = 20, mode: str = "auto") -> list[dict[str, Any]]:
    """The ``k`` clips nearest ``query``: ``[{clip_id, score, text, via}]`` best first (``via``: image | text).

    ``mode``: ``auto`` (image vectors when their text encoder is at hand, else text vectors), ``image`` or
    ``text`` (that kind only; refused when it cannot be searched)."""
    from toonset.store.dataset import open_dataset

    if mode not in ("auto", "image", "text"):
        raise UsageError(f"unknown search mode {mode!r} (auto, image, text)")
    if not query.strip():
        raise UsageError("an empty query matches nothing; give some words")
    try:
        table = open_dataset(dataset).annotation("embeddings")
    except KeyError as exc:
        raise UsageError(f"{dataset} has no embeddings: run toonset annotate {dataset} --with embeddings") from exc
    texts = {cid: t for cid, t, kind, f in zip(table["clip_id"].to_pylist(), table["text"].to_pylist(),
                                                table["kind"].to_pylist(), table["frame"].to_pylist())
             if kind == "text" and f == CLIP_FRAME and t}
    why: list[str] = []
    candidates = [("image", _image_query)] if mode in ("auto", "image") else []
    candidates += [("text", _text_query)] if mode in ("auto", "text") else []
    for kind, embed in candidates:
        per_model = _clip_vectors(table, kind)
        if not per_model:
            why.append(f"no clip {kind} vectors stored")
        for model, rows in per_model.items():
            q, reason = embed(rows, model, query)
            if q is None:
                why.append(reason)
                continue
            vectors = _matrix(rows)
            if vectors.shape[1] != q.shape[0]:
                why.append(f"{model}: query has {q.shape[0]} dims, stored vectors {vectors.shape[1]}")
                continue
            ids = rows["clip_id"].to_pylist()
            return [{"clip_id": ids[i], "score": round(s, 6), "text": texts.get(ids[i], ""), "via": kind}
                    for i, s in top_k(vectors, q, k)]
    raise UsageError("cannot search: " + "; ".join(why))
