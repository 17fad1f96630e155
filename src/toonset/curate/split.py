"""Leak-free train/val/test splits: whole groups of sources go to one split, decided by a hash.

The unit that goes to one split is a *component* of sources, joined by union-find when they
* are the same file (equal ``sha256`` at two paths),
* hold a duplicate pair of clips (``duplicate_of`` and ``duplicates.parquet`` from ``toonset dedup``),
* with ``--by series``: share a series — the ``series`` column or any booru copyright tag
  (``copyright`` column), so ``doraemon`` and ``doraemon_(2005)`` on one post pull both franchises together.
  Sources with no series are their own group.

A component's split is a pure function of its smallest member key and the ``seed``: SHA-256 → a number
in [0, 1) → the bucket of the cumulative ratios. The same dataset always gets the same split, and a
component keeps its split when unrelated data is added. Ratios hold for components, so with a handful
of large series the clip shares can be far from the ratios (the report prints the real shares).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from toonset.curate.edit import note_step, open_for_curation, save_tables, set_column
from toonset.curate.unionfind import UnionFind
from toonset.errors import UsageError

SPLITS = ("train", "val", "test")
GROUPINGS = ("source", "series")
DEFAULT_RATIOS = (0.9, 0.05, 0.05)


def parse_ratios(text: str) -> tuple[float, float, float]:
    """``"0.9,0.05,0.05"`` → (0.9, 0.05, 0.05); three non-negative numbers that add up to 1."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError as exc:
        raise UsageError(f"--ratios: expected three numbers like 0.9,0.05,0.05, got {text!r}") from exc
    if len(values) != 3 or any(v < 0 for v in values) or abs(sum(values) - 1.0) > 1e-6:
        raise UsageError(f"--ratios: need three non-negative numbers (train,val,test) adding up to 1, got {text!r}")
    return values[0], values[1], values[2]


def bucket(key: str, ratios: tuple[float, float, float], seed: str = "") -> str:
    """The split of a group key: deterministic, uniform over keys, in proportion to ``ratios``."""
    digest = hashlib.sha256(f"{seed}\0{key}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0**64
    edge = 0.0
    for name, ratio in zip(SPLITS, ratios):
        edge += ratio
        if u < edge:
            return name
    return next(name for name, r in reversed(list(zip(SPLITS, ratios))) if r > 0)


def series_keys(source: dict[str, Any]) -> list[str]:
    """Every series key of a source: its ``series`` and each copyright tag."""
    keys = {str(source.get("series") or "")} | set(str(source.get("copyright") or "").split())
    return sorted(f"series:{k}" for k in keys if k)


@dataclass
class SplitPlan:
    source_split: dict[str, str]
    clip_split: dict[str, str]
    components: int
    component_sizes: Counter = field(default_factory=Counter)


def plan_splits(sources: list[dict[str, Any]], clips: list[dict[str, Any]], dup_pairs: Iterable[tuple[str, str]],
                by: str = "source", ratios: tuple[float, float, float] = DEFAULT_RATIOS, seed: str = "") -> SplitPlan:
    """Assign every source and clip a split (pure; see the module docstring)."""
    if by not in GROUPINGS:
        raise UsageError(f"--by must be one of {', '.join(GROUPINGS)}")
    uf = UnionFind(f"source:{s['source_id']}" for s in sources)
    by_sha: dict[str, str] = {}
    for s in sources:
        node = f"source:{s['source_id']}"
        if s.get("sha256"):
            uf.union(node, by_sha.setdefault(s["sha256"], node))
        if by == "series":
            for key in series_keys(s):
                uf.union(node, key)
    clip_source = {c["clip_id"]: c["source_id"] for c in clips}
    for a, b in dup_pairs:
        if a in clip_source and b in clip_source:
            uf.union(f"source:{clip_source[a]}", f"source:{clip_source[b]}")
    split_of_root: dict[Any, str] = {}
    sizes: Counter = Counter()
    for group in uf.groups():
        root = uf.find(group[0])
        split_of_root[root] = bucket(min(group), ratios, seed)
        sizes[len([g for g in group if str(g).startswith("source:")])] += 1
    source_split = {s["source_id"]: split_of_root[uf.find(f"source:{s['source_id']}")] for s in sources}
    clip_split = {cid: source_split[sid] for cid, sid in clip_source.items() if sid in source_split}
    return SplitPlan(source_split, clip_split, len(split_of_root), sizes)


def duplicate_pairs(ds) -> list[tuple[str, str]]:
    """Clip pairs that must share a split: ``duplicate_of`` links and the pairs of ``duplicates.parquet``."""
    pairs: list[tuple[str, str]] = []
    if "duplicate_of" in ds.clips.column_names:
        for cid, orig in zip(ds.clips["clip_id"].to_pylist(), ds.clips["duplicate_of"].to_pylist()):
            if orig:
                pairs.append((cid, orig))
    if (ds.path / "duplicates.parquet").exists():
        t = ds.table("duplicates")
        pairs.extend(zip(t["clip_id"].to_pylist(), t["other_clip_id"].to_pylist()))
    return pairs


def _split_counts(ds, clip_split: dict[str, str]) -> dict[str, Any]:
    frames = dict(zip(ds.clips["clip_id"].to_pylist(), ds.clips["num_frames"].to_pylist()))
    clips = Counter(clip_split.values())
    total = max(1, sum(clips.values()))
    out = {}
    for name in SPLITS:
        n = clips.get(name, 0)
        out[name] = {"clips": n, "clip_share": round(n / total, 4),
                     "frames": int(sum(frames[c] for c, s in clip_split.items() if s == name))}
    return out


def split_dataset(path: str | Path, by: str = "source", ratios: tuple[float, float, float] = DEFAULT_RATIOS,
                  seed: str = "") -> dict[str, Any]:
    """Write the ``split`` column of clips and sources; returns a summary with per-split counts."""
    ds = open_for_curation(path)
    srcs = ds.sources.select([c for c in ("source_id", "sha256", "series", "copyright")
                              if c in ds.sources.column_names]).to_pylist()
    clips = ds.clips.select(["clip_id", "source_id"]).to_pylist()
    plan = plan_splits(srcs, clips, duplicate_pairs(ds), by, ratios, seed)
    sources_t = set_column(ds.sources, "split", [plan.source_split.get(s) for s in ds.sources["source_id"].to_pylist()],
                           pa.string())
    clips_t = set_column(ds.clips, "split", [plan.clip_split.get(c) for c in ds.clips["clip_id"].to_pylist()],
                         pa.string())
    save_tables(ds, {"sources": sources_t, "clips": clips_t})
    summary = {"by": by, "ratios": list(ratios), "seed": seed, "components": plan.components,
               "splits": _split_counts(ds, plan.clip_split)}
    note_step(ds, "split", summary)
    return summary


def check_splits(path: str | Path, by: str | None = None) -> dict[str, Any]:
    """Prove a dataset's splits are leak-free: every violation is listed; ``ok`` is True when none.

    Checks: every clip and source has a split; each clip's split is its source's; identical files share a
    split; no duplicate pair crosses splits; with ``by == "series"`` (default: how the split was made) no
    series or copyright tag spans two splits."""
    ds = open_for_curation(path)
    by = by or (ds.meta.get("curation", {}).get("split", {}).get("by")) or "source"
    violations: list[str] = []
    for table in ("sources", "clips"):
        if "split" not in ds.table(table).column_names:
            return {"ok": False, "by": by, "violations": [f"{table}.parquet has no split column: run toonset split"]}
    sources = ds.sources.to_pylist()
    source_split = {s["source_id"]: s["split"] for s in sources}
    clip_split = dict(zip(ds.clips["clip_id"].to_pylist(), ds.clips["split"].to_pylist()))
    clip_source = dict(zip(ds.clips["clip_id"].to_pylist(), ds.clips["source_id"].to_pylist()))
    for sid, sp in source_split.items():
        if sp not in SPLITS:
            violations.append(f"source {sid} has no split ({sp!r})")
    for cid, sp in clip_split.items():
        if sp not in SPLITS:
            violations.append(f"clip {cid} has no split ({sp!r})")
        elif source_split.get(clip_source[cid]) != sp:
            violations.append(f"clip {cid} is in {sp} but its source {clip_source[cid]} is in "
                              f"{source_split.get(clip_source[cid])}")
    groups: dict[str, set[str]] = defaultdict(set)
    for s in sources:
        if s.get("sha256"):
            groups[f"file {s['sha256'][:12]}"].add(s["split"])
        if by == "series":
            for key in series_keys(s):
                groups[key.replace("series:", "series ")].add(s["split"])
    violations += [f"{k} is in {len(v)} splits: {', '.join(sorted(map(str, v)))}" for k, v in sorted(groups.items())
                   if len(v) > 1]
    for a, b in duplicate_pairs(ds):
        if a in clip_split and b in clip_split and clip_split[a] != clip_split[b]:
            violations.append(f"duplicate pair {a} ({clip_split[a]}) / {b} ({clip_split[b]}) crosses splits")
    return {"ok": not violations, "by": by, "violations": violations, "splits": _split_counts(ds, clip_split)}
