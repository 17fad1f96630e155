"""Numbers that describe a built dataset: what ``toonset inspect`` prints."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from toonset.store.dataset import open_dataset

CLIP_LENGTH_BINS_S = [0, 0.5, 1, 2, 4, 8, 16, 32, float("inf")]


def _histogram(values: np.ndarray, edges: list[float]) -> list[dict[str, Any]]:
    counts, _ = np.histogram(values, bins=np.asarray(edges, dtype=float))
    out = []
    for lo, hi, c in zip(edges[:-1], edges[1:], counts):
        label = f"{lo:g}-{hi:g}s" if np.isfinite(hi) else f"≥{lo:g}s"
        out.append({"bin": label, "count": int(c)})
    return out


def inspect_dataset(path: str | Path) -> dict[str, Any]:
    ds = open_dataset(path)
    sources, clips, errors = ds.sources, ds.clips, ds.errors
    dur = np.asarray(clips["end_time"].to_pylist(), float) - np.asarray(clips["start_time"].to_pylist(), float)
    frames = np.asarray(clips["num_frames"].to_pylist(), float)
    hold_cols = ["hold_ones", "hold_twos", "hold_threes", "hold_longer"]
    if clips.num_rows:
        weights = frames / max(1.0, frames.sum())
        holds = {c: round(float(np.dot(np.asarray(clips[c].to_pylist(), float), weights)), 4) for c in hold_cols}
    else:
        holds = dict.fromkeys(hold_cols, 0.0)
    hold_lengths = np.asarray(ds.keyframes["hold"].to_pylist(), float)
    hold_hist = Counter(min(int(h), 8) for h in hold_lengths)
    return {
        "path": str(ds.path),
        "counts": ds.meta.get("counts", {}),
        "sources_ok": int(sum(1 for s in sources["status"].to_pylist() if s.startswith("ok"))),
        "total_duration_s": round(float(np.sum(sources["duration"].to_pylist())) if sources.num_rows else 0.0, 3),
        "clip_duration_s": {
            "mean": round(float(dur.mean()), 3) if dur.size else 0.0,
            "median": round(float(np.median(dur)), 3) if dur.size else 0.0,
            "histogram": _histogram(dur, CLIP_LENGTH_BINS_S),
        },
        "frames_in_clips": int(frames.sum()),
        "hold_share_of_frames": holds,
        "hold_length_histogram": {("8+" if k == 8 else str(k)): int(v) for k, v in sorted(hold_hist.items())},
        "timing_labels": dict(Counter(clips["timing"].to_pylist())),
        "transitions": dict(Counter(clips["transition_in"].to_pylist())),
        "dynamic_score_mean": round(float(np.mean(clips["dynamic_score"].to_pylist())), 4) if clips.num_rows else 0.0,
        "errors_by_type": dict(Counter(errors["error_type"].to_pylist())),
        "errors_by_stage": dict(Counter(errors["stage"].to_pylist())),
        "shards": len(ds.shards),
        "annotations": {
            "annotators": {n: {k: a.get(k) for k in ("version", "clips", "errors", "seconds")}
                           for n, a in ds.annotators.items()},
            "tables": {t: ds.annotation(t).num_rows for t in ds.annotation_tables()},
        },
    }
