"""Select clips with a SQL predicate (DuckDB) and write the selection as a new, complete dataset.

The predicate is the ``WHERE`` clause of::

    SELECT clips.clip_id FROM clips JOIN sources USING (source_id) WHERE <predicate>

so it may use any column of ``clips.parquet`` and ``sources.parquet`` (qualify the names both tables
have: ``clips.split``, ``sources.split``), DuckDB functions, and sub-queries over ``keyframes`` and
``duplicates`` (when dedup has run) and over every annotation table (``annotations/<name>.parquet`` is the
view ``<name>``). Clip-level annotation columns are joined in as ``<table>.<column>`` for tables keyed by
``clip_id`` alone (``ocr_clips.text_coverage < 0.01``, ``quality.sharpness > 0.2``); per-frame tables are
for sub-queries (``clip_id IN (SELECT clip_id FROM ocr WHERE text LIKE '%END%')``). Thresholds change without decoding anything again.

The subset is a dataset of its own: its tables hold the selected clips, their keyframes and sources;
``filtered.parquet`` keeps the parent's rows for those sources plus one row per clip the predicate left
out (nothing vanishes silently); the shards are new tars that hold only the selected samples, streamed
from the parent's; ``dataset.json`` names the parent and the predicate. The folder appears atomically.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from toonset.curate.edit import open_for_curation
from toonset.errors import UsageError
from toonset.store.atomic import atomic_dir, atomic_write_text
from toonset.store.dataset import Dataset, summarize
from toonset.store.schema import FILTERED
from toonset.store.shards import iter_shard, write_samples
from toonset.store.tables import write_table

VIEWS = ("clips", "sources", "keyframes", "duplicates")
Progress = Callable[[int], None]  # samples written so far


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def select_clip_ids(ds: Dataset, where: str) -> list[str]:
    """The clip ids matching ``where`` (see the module docstring); ``UsageError`` for bad SQL."""
    where = where.strip()
    if not where:
        raise UsageError("--where needs a SQL predicate, e.g. \"dynamic_score > 0.2\"")
    joins = "".join(f" LEFT JOIN {t} USING (clip_id)" for t in clip_level_annotation_tables(ds))
    query = f"SELECT DISTINCT clips.clip_id FROM clips JOIN sources USING (source_id){joins} WHERE ({where}) ORDER BY 1"
    try:
        if len(duckdb.extract_statements(query)) != 1:
            raise UsageError("--where must be a single predicate, not several statements")
    except duckdb.Error as exc:
        raise UsageError(f"--where: {str(exc).splitlines()[0]}") from exc
    con = duckdb.connect()
    try:
        for name in VIEWS:
            path = ds.path / f"{name}.parquet"
            if path.exists():
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_sql_path(path)})")
        for name in ds.annotation_tables():
            if name.isidentifier() and name not in VIEWS:
                path = ds.path / "annotations" / f"{name}.parquet"
                con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM read_parquet({_sql_path(path)})')
        return [row[0] for row in con.execute(query).fetchall()]
    except duckdb.Error as exc:
        raise UsageError(f"--where: {str(exc).splitlines()[0]}") from exc
    finally:
        con.close()


def clip_level_annotation_tables(ds: Dataset) -> list[str]:
    """Annotation tables with one row per clip (a ``clip_id`` column and no ``frame``): joined to clips."""
    import pyarrow.parquet as pq

    out = []
    for name in ds.annotation_tables():
        if not name.isidentifier() or name in VIEWS or name == "coverage":
            continue
        cols = pq.read_schema(ds.path / "annotations" / f"{name}.parquet").names
        if "clip_id" in cols and "frame" not in cols:
            out.append(name)
    return out


def _keep(table: pa.Table, column: str, values: set[str]) -> pa.Table:
    if column not in table.column_names or table.num_rows == 0:
        return table
    return table.filter(pc.is_in(table[column], value_set=pa.array(sorted(values), pa.string())))


def _sample_meta(clips: pa.Table, keyframes: pa.Table) -> dict[str, dict[str, Any]]:
    """The ``<key>.json`` of each clip, as the build writes it: the clip row plus [[frame, hold], ...]."""
    kf: dict[str, list[list[int]]] = {}
    for cid, frame, hold in zip(keyframes["clip_id"].to_pylist(), keyframes["frame"].to_pylist(),
                                keyframes["hold"].to_pylist()):
        kf.setdefault(cid, []).append([frame, hold])
    out = {}
    for row in clips.to_pylist():
        if isinstance(row.get("annotations"), str):
            row["annotations"] = json.loads(row["annotations"] or "{}")
        row["keyframes"] = kf.get(row["clip_id"], [])
        out[row["clip_id"]] = row
    return out


def _subset_samples(shard: Path, meta: dict[str, dict[str, Any]], done: list[int],
                    progress: Progress | None) -> Iterator[tuple[str, dict[str, bytes]]]:
    for key, members in iter_shard(shard):
        if key not in meta:
            continue
        members = dict(members)
        row = dict(meta[key])
        try:  # keep how the parent stored the clip (encoded or by reference)
            stored = json.loads(members.get("json", b"{}")).get("media")
        except (ValueError, AttributeError):
            stored = None
        if stored is not None:
            row["media"] = stored
        members["json"] = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
        done[0] += 1
        if progress:
            progress(done[0])
        yield key, members


def filter_dataset(path: str | Path, where: str, out: str | Path, overwrite: bool = False,
                   progress: Progress | None = None) -> dict[str, Any]:
    """Write the clips of ``path`` matching ``where`` to the new dataset ``out``; returns a summary."""
    t0 = time.perf_counter()
    ds = open_for_curation(path)
    out = Path(out).absolute()
    if out.resolve() == ds.path.resolve():
        raise UsageError("the subset must go to a new folder (-o), not over its parent")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UsageError(f"{out} exists and is not empty (pass --overwrite to replace it)")
    kept = select_clip_ids(ds, where)
    kept_set = set(kept)
    clips = _keep(ds.clips, "clip_id", kept_set)
    source_ids = set(clips["source_id"].to_pylist())
    tables: dict[str, pa.Table] = {
        "clips": clips,
        "sources": _keep(ds.sources, "source_id", source_ids),
        "keyframes": _keep(ds.keyframes, "clip_id", kept_set),
        "errors": _keep(ds.errors, "source_id", source_ids),
    }
    dropped = [c for c in ds.clips.select(["clip_id", "source_id"]).to_pylist() if c["clip_id"] not in kept_set]
    paths = dict(zip(ds.sources["source_id"].to_pylist(), ds.sources["path"].to_pylist()))
    rows = [{"path": paths.get(c["source_id"], ""), "source_id": c["source_id"], "clip_id": c["clip_id"],
             "stage": "filter", "reason": f"where: {where}"} for c in dropped]
    parent_filtered = _keep(ds.filtered, "source_id", source_ids)
    new_rows = pa.Table.from_pylist(rows, schema=FILTERED) if rows else FILTERED.empty_table()
    tables["filtered"] = pa.concat_tables([parent_filtered.cast(FILTERED), new_rows])
    if (ds.path / "duplicates.parquet").exists():
        dup = ds.table("duplicates")
        tables["duplicates"] = _keep(_keep(dup, "clip_id", kept_set), "other_clip_id", kept_set)
    with atomic_dir(out) as tmp:
        written = _write_subset(ds, tmp, tables, where, progress)
        _copy_annotations(ds, tmp, kept_set)
    return {"output": str(out), "parent": str(ds.path), "where": where, "clips": clips.num_rows,
            "clips_dropped": len(dropped), "sources": tables["sources"].num_rows, "shards": written,
            "elapsed_s": round(time.perf_counter() - t0, 3)}


def _copy_annotations(ds: Dataset, tmp: Path, kept: set[str]) -> None:
    """The parent's annotation tables, restricted to the kept clips, and what ran (``annotations.json``).
    Task parts are not copied: annotating the subset again starts its own plan."""
    tables = ds.annotation_tables()
    if not tables:
        return
    (tmp / "annotations").mkdir()
    for name in tables:
        write_table(tmp / "annotations" / f"{name}.parquet", _keep(ds.annotation(name), "clip_id", kept))
    manifest = ds.path / "annotations" / "annotations.json"
    if manifest.exists():
        info = json.loads(manifest.read_text())
        info["plan"] = f"parent:{info.get('plan', '')}"  # the subset's clips are another plan
        atomic_write_text(tmp / "annotations" / "annotations.json", json.dumps(info, indent=1, ensure_ascii=False))


def _write_subset(ds: Dataset, tmp: Path, tables: dict[str, pa.Table], where: str,
                  progress: Progress | None) -> int:
    for name, table in tables.items():
        write_table(tmp / f"{name}.parquet", table)
    clips = tables["clips"]
    meta = _sample_meta(clips, tables["keyframes"])
    shards = sorted({s for s in clips["shard"].to_pylist() if s}) if "shard" in clips.column_names else []
    done = [0]
    for shard in shards:
        src = (ds.path / shard).resolve()
        if not src.is_relative_to(ds.path.resolve()) or not src.is_file():
            raise UsageError(f"{ds.path}: shard {shard!r} is missing")
        write_samples(tmp / shard, _subset_samples(src, meta, done, progress))
    counts = summarize({name: tables.get(name) for name in ("sources", "clips", "keyframes", "errors", "filtered")})
    info = dict(ds.meta)
    info.update({"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "counts": counts["counts"],
                 "parent": {"path": str(ds.path), "where": where, "counts": ds.meta.get("counts", {})}})
    atomic_write_text(tmp / "dataset.json", json.dumps(info, indent=1, ensure_ascii=False, default=str))
    return len(shards)
