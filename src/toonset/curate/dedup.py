"""Dedup a built dataset: exact duplicates (same decoded content) and near duplicates (same drawings).

Nothing is dropped. Each clip that repeats another gets the id of the kept original in the
``duplicate_of`` column of ``clips.parquet`` (null for originals); ``duplicates.parquet`` lists every pair
that was found, with its kind (``exact``/``near``) and scores, so the decision can be audited.

Duplicates form groups (union-find over the pairs, so a chain A≈B≈C is one group even when A and C were
not compared directly). The original of a group is the clip with the most source pixels (the best
copy), then the highest share of frames that are new drawings (a 2:3 pulldown repeats frames, so the
native-rate copy wins), then the longer clip, then the smaller clip id — a deterministic choice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from toonset.curate.edit import note_step, open_for_curation, require_columns, save_tables, set_column
from toonset.curate.neardup import (
    ClipHashes,
    NearDupParams,
    candidate_pairs,
    group_hashes,
    is_duplicate,
    score_pair,
)
from toonset.curate.unionfind import UnionFind

DUPLICATES = pa.schema([
    ("clip_id", pa.string()), ("other_clip_id", pa.string()), ("kind", pa.string()),
    ("score", pa.float64()), ("share", pa.float64()), ("other_share", pa.float64()), ("matched", pa.int64()),
])

Progress = Callable[[int, int], None]  # (pairs verified, pairs to verify)


@dataclass
class DedupResult:
    duplicate_of: dict[str, str]  # clip_id -> original clip_id (originals absent)
    pairs: list[dict[str, Any]] = field(default_factory=list)
    candidates: int = 0

    @property
    def exact_pairs(self) -> int:
        return sum(1 for p in self.pairs if p["kind"] == "exact")

    @property
    def near_pairs(self) -> int:
        return sum(1 for p in self.pairs if p["kind"] == "near")


def original_rank(clip: dict[str, Any]) -> tuple:
    """Sort key: the first clip of a group in this order is its original (see the module docstring)."""
    pixels = int(clip.get("width") or 0) * int(clip.get("height") or 0)
    drawings = round(float(clip.get("dynamic_score") or 0.0), 3)
    return (-pixels, -drawings, -int(clip.get("num_frames") or 0), clip["clip_id"])


def find_duplicates(clips: list[dict[str, Any]], hashes: list[ClipHashes], params: NearDupParams | None = None,
                    progress: Progress | None = None) -> DedupResult:
    """Exact and near duplicates among ``clips`` (dicts with clip_id, content_hash, width, height,
    dynamic_score, num_frames) given the keyframe hashes of each clip. Pure: no I/O."""
    params = params or NearDupParams()
    by_id = {c["clip_id"]: c for c in clips}
    uf = UnionFind(by_id)
    pairs: list[dict[str, Any]] = []
    exact: dict[str, list[str]] = {}
    for c in clips:
        if c.get("content_hash"):
            exact.setdefault(c["content_hash"], []).append(c["clip_id"])
    for members in exact.values():
        members = sorted(members, key=lambda cid: original_rank(by_id[cid]))
        for other in members[1:]:
            uf.union(members[0], other)
            pairs.append({"clip_id": other, "other_clip_id": members[0], "kind": "exact", "score": 1.0,
                          "share": 1.0, "other_share": 1.0, "matched": 0})
    hashes = [h for h in hashes if h.clip_id in by_id]
    todo = sorted(candidate_pairs(hashes, params.bands, params.max_bucket))
    for n, (i, j) in enumerate(todo):
        a, b = hashes[i], hashes[j]
        if progress and n % 256 == 0:
            progress(n, len(todo))
        if _exact_twins(by_id, a.clip_id, b.clip_id):
            continue  # already paired as exact duplicates
        s = score_pair(a, b, params)
        if is_duplicate(s, min(len(a.phash), len(b.phash)), params):
            uf.union(a.clip_id, b.clip_id)
            first, second = sorted((a.clip_id, b.clip_id), key=lambda cid: original_rank(by_id[cid]))
            share = {a.clip_id: s.share_a, b.clip_id: s.share_b}
            pairs.append({"clip_id": second, "other_clip_id": first, "kind": "near", "score": round(s.score, 4),
                          "share": round(share[second], 4), "other_share": round(share[first], 4),
                          "matched": s.matched})
    if progress:
        progress(len(todo), len(todo))
    duplicate_of: dict[str, str] = {}
    for group in uf.groups():
        if len(group) < 2:
            continue
        ordered = sorted(group, key=lambda cid: original_rank(by_id[cid]))
        for cid in ordered[1:]:
            duplicate_of[cid] = ordered[0]
    return DedupResult(duplicate_of, pairs, len(todo))


def _exact_twins(by_id: dict[str, dict[str, Any]], a: str, b: str) -> bool:
    ha, hb = by_id[a].get("content_hash"), by_id[b].get("content_hash")
    return bool(ha) and ha == hb


def clip_rows(ds) -> list[dict[str, Any]]:
    """Clips joined with the source columns that rank originals (width, height, fps, path)."""
    sources = {s["source_id"]: s for s in ds.sources.select(["source_id", "width", "height", "fps"]).to_pylist()}
    cols = ["clip_id", "source_id", "content_hash", "num_frames", "dynamic_score"]
    rows = ds.clips.select(cols).to_pylist()
    for r in rows:
        s = sources.get(r["source_id"], {})
        r.update(width=s.get("width"), height=s.get("height"), fps=s.get("fps"))
    return rows


def dedup_dataset(path: str | Path, params: NearDupParams | None = None,
                  progress: Progress | None = None) -> dict[str, Any]:
    """Find duplicates in a built dataset, write ``duplicate_of`` and ``duplicates.parquet``; returns a summary."""
    params = params or NearDupParams()
    t0 = time.perf_counter()
    ds = open_for_curation(path)
    why = "rebuild the dataset with this toonset version (fingerprints are made during build)"
    require_columns(ds, "keyframes", ["phash", "fg_phash"], why)
    require_columns(ds, "clips", ["content_hash"], why)
    kf = ds.keyframes.select(["clip_id", "phash", "fg_phash"])
    hashes = group_hashes(kf["clip_id"].to_pylist(), kf["phash"].to_pylist(), kf["fg_phash"].to_pylist())
    result = find_duplicates(clip_rows(ds), hashes, params, progress)
    clips = ds.clips
    values = [result.duplicate_of.get(cid) for cid in clips["clip_id"].to_pylist()]
    clips = set_column(clips, "duplicate_of", values, pa.string())
    pairs = pa.Table.from_pylist(result.pairs, schema=DUPLICATES) if result.pairs else DUPLICATES.empty_table()
    pairs = pairs.sort_by([("other_clip_id", "ascending"), ("clip_id", "ascending")]) if pairs.num_rows else pairs
    save_tables(ds, {"clips": clips, "duplicates": pairs})
    summary = {
        "clips": clips.num_rows,
        "duplicates": len(result.duplicate_of),
        "originals_with_duplicates": len(set(result.duplicate_of.values())),
        "exact_pairs": result.exact_pairs,
        "near_pairs": result.near_pairs,
        "candidate_pairs": result.candidates,
        "params": params.as_dict(),
        "elapsed_s": round(time.perf_counter() - t0, 3),
    }
    note_step(ds, "dedup", summary)
    return summary
