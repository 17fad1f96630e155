"""Export a built dataset for other tools: the Sakuga-42M table, WebDataset shards, Parquet, Hugging Face.

* ``sakuga42m`` — one Parquet file with the published Sakuga-42M columns, in their order and types, filled
  honestly (probed fps, exact times and frame counts; null where an annotator has not run), followed by
  toonset's frame-accurate columns (``toonset_*`` and the ids).
* ``parquet`` — one Parquet file, one row per clip: the clip columns, the source columns that describe it
  (``source_*``, fps, size, provenance), keyframe offsets and holds, and the clip's MP4 bytes (``mp4``).
* ``webdataset`` — a folder of tars ``<split>-00000.tar`` with ``<clip_id>.mp4`` and ``<clip_id>.json``.
* ``hf`` — a folder that ``datasets.load_dataset(FOLDER)`` opens: ``data/<split>-*.parquet`` (as
  ``parquet``) and a ``README.md`` whose YAML names the splits (``val`` becomes ``validation``).
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from toonset.errors import UsageError
from toonset.store.atomic import atomic_write_bytes, atomic_write_text
from toonset.store.dataset import Dataset, open_dataset
from toonset.store.shards import index_members, read_member, write_samples
from toonset.store.tables import write_table

FORMATS = ("sakuga42m", "parquet", "webdataset", "hf")
Progress = Callable[[int, int], None]  # (clips done, clips in all)

# the published Sakuga-42M release schema (sakugadataset_demo.parquet), in order
SAKUGA42M = pa.schema([
    ("identifier", pa.string()), ("hash_identifier", pa.string()), ("url_link", pa.string()),
    ("scene_start_time", pa.string()), ("scene_end_time", pa.string()), ("frame_number", pa.float64()),
    ("key_frame_number", pa.float64()), ("anime_tags", pa.string()), ("user_tags", pa.string()),
    ("text_description", pa.string()), ("aesthetic_score", pa.float64()), ("dynamic_score", pa.float64()),
    ("rating", pa.string()), ("text_prob", pa.float64()), ("width", pa.int64()), ("height", pa.int64()),
    ("file_ext", pa.string()), ("file_size", pa.string()), ("fps", pa.float64()),
    ("Taxonomy_Time", pa.string()), ("Taxonomy_Venue", pa.string()), ("Taxonomy_Media", pa.string()),
    ("Taxonomy_Filming", pa.string()), ("Taxonomy_Composition", pa.string()), ("Taxonomy_Character", pa.string()),
])
TOONSET_COLUMNS = pa.schema([
    ("clip_id", pa.string()), ("source_id", pa.string()), ("clip_index", pa.int32()),
    ("start_frame", pa.int64()), ("end_frame", pa.int64()), ("start_time", pa.float64()), ("end_time", pa.float64()),
    ("fps_num", pa.int64()), ("fps_den", pa.int64()), ("toonset_keyframes", pa.int64()),
    ("toonset_dynamic_score", pa.float64()), ("timing", pa.string()), ("transition_in", pa.string()),
    ("transition_out", pa.string()), ("booru_post_id", pa.int64()), ("artist", pa.string()),
    ("copyright", pa.string()), ("series", pa.string()), ("source_url", pa.string()), ("split", pa.string()),
    ("duplicate_of", pa.string()), ("content_hash", pa.string()), ("source_path", pa.string()),
    ("shard", pa.string()), ("toonset_caption", pa.string()), ("toonset_captioner", pa.string()),
])
RATING_WORDS = {"s": "safe", "q": "questionable", "e": "explicit"}
HF_SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}


def timestamp(seconds: float) -> str:
    """Seconds as ``HH:MM:SS.mmm`` (the Sakuga-42M scene time format)."""
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _provenance(source: dict[str, Any]) -> dict[str, Any]:
    raw = source.get("provenance")
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw or "{}")
    except (TypeError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _nonempty(value: Any) -> Any:
    return value if value not in ("", None) else None


def sakuga42m_row(clip: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """One Sakuga-42M row for a clip (the published columns, then toonset's)."""
    prov = _provenance(source)
    post = source.get("booru_post_id")
    identifier = f"{post if post is not None else clip['source_id']}:{clip['index']}"
    compat = clip.get("sakuga_keyframes")
    has_compat = compat is not None and compat >= 0
    n = int(clip["num_frames"])
    size = int(source.get("size_bytes") or 0)
    row = {
        "identifier": identifier,
        "hash_identifier": hashlib.sha256(identifier.encode()).hexdigest(),
        "url_link": _nonempty(source.get("media_url")),
        "scene_start_time": timestamp(clip["start_time"]),
        "scene_end_time": timestamp(clip["end_time"]),
        "frame_number": float(n),
        "key_frame_number": float(compat) if has_compat else None,
        "user_tags": _nonempty(prov.get("tag_string")),
        "dynamic_score": (compat / n if n else 0.0) if has_compat else None,
        "rating": RATING_WORDS.get(str(source.get("rating") or ""), _nonempty(source.get("rating"))),
        "width": source.get("width"), "height": source.get("height"),
        "file_ext": Path(str(source.get("path") or "")).suffix.lstrip(".").lower() or None,
        "file_size": f"{size / 2**20:.2f}MB" if size else None,
        "fps": source.get("fps"),
        # toonset's columns
        "clip_id": clip["clip_id"], "source_id": clip["source_id"], "clip_index": clip["index"],
        "start_frame": clip["start_frame"], "end_frame": clip["end_frame"],
        "start_time": clip["start_time"], "end_time": clip["end_time"],
        "fps_num": source.get("fps_num"), "fps_den": source.get("fps_den"),
        "toonset_keyframes": clip["num_keyframes"], "toonset_dynamic_score": clip["dynamic_score"],
        "timing": clip.get("timing"), "transition_in": clip.get("transition_in"),
        "transition_out": clip.get("transition_out"), "booru_post_id": post,
        "artist": source.get("artist") or "", "copyright": source.get("copyright") or "",
        "series": source.get("series") or "", "source_url": source.get("source_url") or "",
        "split": clip.get("split"), "duplicate_of": clip.get("duplicate_of"),
        "content_hash": clip.get("content_hash") or "", "source_path": source.get("path"),
        "shard": clip.get("shard") or "",
    }
    return row


TAXONOMY_AXES = ("time", "venue", "media", "filming", "composition", "character")


def _annotation_rows(ds: Dataset, table: str) -> list[dict[str, Any]]:
    try:
        return ds.annotation(table).to_pylist()
    except KeyError:
        return []


def annotation_columns(ds: Dataset) -> dict[str, dict[str, Any]]:
    """Sakuga-42M columns filled from the annotation tables that exist, per clip_id.

    ``text_prob`` ← ``ocr_clips.text_score``; ``aesthetic_score`` ← ``quality.aesthetic`` (a BYO model; null
    without one); ``text_description`` ← a model caption (``caption`` rows whose captioner is not
    ``template``: a template caption is never passed off as a model's, it goes to ``toonset_caption``);
    ``anime_tags`` ← the tagger's tags, ``user_tags`` ← booru tags when the provenance has no tag string;
    ``Taxonomy_*`` ← the taxonomy annotator's labels (null with its reason when it had no model)."""
    out: dict[str, dict[str, Any]] = {}
    for r in _annotation_rows(ds, "ocr_clips"):
        out.setdefault(r["clip_id"], {})["text_prob"] = r.get("text_score")
    for r in _annotation_rows(ds, "quality"):
        if r.get("aesthetic") is not None:
            out.setdefault(r["clip_id"], {})["aesthetic_score"] = r["aesthetic"]
    for r in _annotation_rows(ds, "caption"):
        cols = out.setdefault(r["clip_id"], {})
        cols["toonset_caption"] = r.get("caption")
        cols["toonset_captioner"] = r.get("captioner")
        if r.get("captioner") not in (None, "", "template"):
            cols["text_description"] = r.get("caption")
    from toonset.annotate.tags import sakuga42m_tag_strings  # the booru tag order lives with the tagger

    by_clip: dict[str, list[dict[str, Any]]] = {}
    for r in _annotation_rows(ds, "tags"):
        by_clip.setdefault(r["clip_id"], []).append(r)
    for cid, rows in by_clip.items():
        anime, user = sakuga42m_tag_strings(rows)
        cols = out.setdefault(cid, {})
        if anime:
            cols["anime_tags"] = anime
        if user:
            cols["_booru_tags"] = user
    for r in _annotation_rows(ds, "taxonomy"):
        cols = out.setdefault(r["clip_id"], {})
        for axis in TAXONOMY_AXES:
            if r.get(axis) is not None:
                cols[f"Taxonomy_{axis.capitalize()}"] = r[axis]
    return out


def export_sakuga42m(ds: Dataset, out: Path) -> dict[str, Any]:
    sources = {s["source_id"]: s for s in ds.sources.to_pylist()}
    notes = annotation_columns(ds)
    rows = []
    for c in ds.clips.to_pylist():
        row = sakuga42m_row(c, sources.get(c["source_id"], {}))
        extra = dict(notes.get(c["clip_id"], {}))
        booru = extra.pop("_booru_tags", None)
        if row.get("user_tags") is None and booru:
            row["user_tags"] = booru
        row.update(extra)
        rows.append(row)
    schema = pa.schema(list(SAKUGA42M) + list(TOONSET_COLUMNS))
    table = pa.Table.from_pylist(rows, schema=schema)
    write_table(out, table)
    return {"rows": table.num_rows, "columns": table.num_columns}


# ------------------------------------------------------------------------------------- flat clip rows
SOURCE_FIELDS = {"path": "source_path", "fps": "fps", "fps_num": "fps_num", "fps_den": "fps_den", "width": "width",
                 "height": "height", "series": "series", "booru_post_id": "booru_post_id", "artist": "artist",
                 "copyright": "copyright", "rating": "rating", "source_url": "source_url",
                 "media_url": "media_url", "provenance": "provenance"}


def clip_records(ds: Dataset) -> Iterator[dict[str, Any]]:
    """One flat dict per clip: clip columns, the describing source columns, keyframe offsets and holds."""
    sources = {s["source_id"]: s for s in ds.sources.to_pylist()}
    kf: dict[str, tuple[list[int], list[int]]] = {}
    for cid, frame, hold in zip(ds.keyframes["clip_id"].to_pylist(), ds.keyframes["frame"].to_pylist(),
                                ds.keyframes["hold"].to_pylist()):
        offsets, holds = kf.setdefault(cid, ([], []))
        offsets.append(int(frame))
        holds.append(int(hold))
    for clip in ds.clips.to_pylist():
        source = sources.get(clip["source_id"], {})
        row = dict(clip)
        for key, name in SOURCE_FIELDS.items():
            if key in source:
                row[name] = source[key]
        frames, holds = kf.get(clip["clip_id"], ([], []))
        row["keyframes"] = [f - int(clip["start_frame"]) for f in frames]  # offsets inside the clip
        row["holds"] = holds
        yield row


def _media_index(ds: Dataset) -> dict[str, dict[str, tuple[str, int, int]]]:
    return index_members(ds.shards)


def _records_with_media(ds: Dataset, media: bool, progress: Progress | None) -> Iterator[dict[str, Any]]:
    index = _media_index(ds) if media else {}
    total = ds.clips.num_rows
    for n, row in enumerate(clip_records(ds)):
        if media:
            loc = index.get(row["clip_id"], {}).get("mp4")
            row["mp4"] = read_member(loc) if loc else None
        if progress:
            progress(n + 1, total)
        yield row


def _table(rows: list[dict[str, Any]], media: bool) -> pa.Table:
    """Rows to a table; columns that are null everywhere (no split yet, no duplicates) are typed as
    strings, and ``mp4`` as binary, so every loader sees stable types."""
    table = pa.Table.from_pylist(rows)
    for i, f in enumerate(table.schema):
        if pa.types.is_null(f.type):
            want = pa.binary() if f.name == "mp4" else pa.string()
            table = table.set_column(i, f.name, pa.array(table[f.name].to_pylist(), want))
    return table


def _parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def export_parquet(ds: Dataset, out: Path, media: bool, progress: Progress | None) -> dict[str, Any]:
    rows = list(_records_with_media(ds, media, progress))
    table = _table(rows, media)
    atomic_write_bytes(out, _parquet_bytes(table))
    return {"rows": table.num_rows, "columns": table.num_columns}


def _by_split(rows: Iterator[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row.get("split") or "train", []).append(row)
    return out


def export_webdataset(ds: Dataset, out: Path, media: bool, shard_size: int,
                      progress: Progress | None) -> dict[str, Any]:
    shards = []
    for split, rows in sorted(_by_split(_records_with_media(ds, media, progress)).items()):
        for n, start in enumerate(range(0, len(rows), shard_size)):
            samples = []
            for row in rows[start : start + shard_size]:
                members = {"json": json.dumps({k: v for k, v in row.items() if k != "mp4"}, sort_keys=True,
                                              ensure_ascii=False, default=str).encode("utf-8")}
                if row.get("mp4"):
                    members["mp4"] = row["mp4"]
                samples.append((row["clip_id"], members))
            name = f"{split}-{n:05d}.tar"
            write_samples(out / name, samples)
            shards.append(name)
    return {"shards": shards}


def export_hf(ds: Dataset, out: Path, media: bool, progress: Progress | None) -> dict[str, Any]:
    groups = _by_split(_records_with_media(ds, media, progress))
    files: dict[str, str] = {}
    for split, rows in sorted(groups.items()):
        name = HF_SPLIT_NAMES.get(split, split)
        rel = f"data/{name}-00000-of-00001.parquet"
        atomic_write_bytes(out / rel, _parquet_bytes(_table(rows, media)))
        files[name] = rel
    lines = ["---", "configs:", "- config_name: default", "  data_files:"]
    for name, rel in files.items():
        lines += [f"  - split: {name}", f"    path: {rel}"]
    lines += ["---", "", f"# {ds.path.name}", "",
              "Exported by toonset from a built dataset: one row per clip (shot), the clip's MP4 in `mp4`.",
              "Columns are described in toonset's docs/curation.md.", ""]
    atomic_write_text(out / "README.md", "\n".join(lines))
    return {"splits": {k: len(v) for k, v in groups.items()}, "files": sorted(files.values())}


def export_dataset(path: str | Path, fmt: str, out: str | Path, media: bool = True, shard_size: int = 1000,
                   overwrite: bool = False, progress: Progress | None = None) -> dict[str, Any]:
    """Export the dataset at ``path`` as ``fmt`` to ``out`` (a file for sakuga42m/parquet, else a folder)."""
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    try:
        ds = open_dataset(path)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from exc
    out = Path(out).absolute()
    t0 = time.perf_counter()
    if fmt in ("sakuga42m", "parquet"):
        if out.is_dir():
            raise UsageError(f"{out} is a folder; --format {fmt} writes one .parquet file")
        if out.exists() and not overwrite:
            raise UsageError(f"{out} exists (pass --overwrite to replace it)")
        out.parent.mkdir(parents=True, exist_ok=True)
        info = export_sakuga42m(ds, out) if fmt == "sakuga42m" else export_parquet(ds, out, media, progress)
    else:
        if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
            raise UsageError(f"{out} exists and is not an empty folder (pass --overwrite to replace it)")
        if shard_size < 1:
            raise UsageError("--shard-size must be at least 1")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        try:
            if fmt == "webdataset":
                info = export_webdataset(ds, tmp, media, shard_size, progress)
            else:
                info = export_hf(ds, tmp, media, progress)
            if out.exists():
                shutil.rmtree(out) if out.is_dir() else out.unlink()
            tmp.rename(out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return {"format": fmt, "output": str(out), "clips": ds.clips.num_rows, **info,
            "elapsed_s": round(time.perf_counter() - t0, 3)}
