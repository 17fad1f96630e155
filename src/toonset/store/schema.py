"""Arrow schemas of the dataset tables (the on-disk contract). Bump SCHEMA_VERSION on breaking changes."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

SCHEMA_VERSION = 1

SOURCES = pa.schema([
    ("source_id", pa.string()), ("path", pa.string()), ("sha256", pa.string()), ("size_bytes", pa.int64()),
    ("container", pa.string()), ("codec", pa.string()), ("width", pa.int32()), ("height", pa.int32()),
    ("rotation", pa.int16()), ("fps", pa.float64()), ("fps_num", pa.int64()), ("fps_den", pa.int64()),
    ("time_base", pa.string()), ("frame_count", pa.int64()), ("duration", pa.float64()),
    ("has_audio", pa.bool_()), ("status", pa.string()), ("decode_errors", pa.int32()), ("vfr", pa.bool_()),
    ("input_kind", pa.string()), ("series", pa.string()), ("provenance", pa.string()),
    ("booru_post_id", pa.int64()), ("artist", pa.string()), ("copyright", pa.string()), ("rating", pa.string()),
    ("source_url", pa.string()), ("media_url", pa.string()), ("split", pa.string()),
])

CLIPS = pa.schema([
    ("clip_id", pa.string()), ("source_id", pa.string()), ("index", pa.int32()),
    ("start_frame", pa.int64()), ("end_frame", pa.int64()), ("start_time", pa.float64()),
    ("end_time", pa.float64()), ("num_frames", pa.int64()), ("num_keyframes", pa.int64()),
    ("dynamic_score", pa.float64()), ("hold_ones", pa.float64()), ("hold_twos", pa.float64()),
    ("hold_threes", pa.float64()), ("hold_longer", pa.float64()), ("timing", pa.string()),
    ("changed_area", pa.float64()), ("motion", pa.float64()), ("transition_in", pa.string()),
    ("transition_out", pa.string()), ("sakuga_keyframes", pa.int64()), ("shard", pa.string()),
    ("annotations", pa.string()), ("content_hash", pa.string()), ("duplicate_of", pa.string()),
    ("split", pa.string()),
])

KEYFRAMES = pa.schema([
    ("clip_id", pa.string()), ("frame", pa.int64()), ("hold", pa.int32()), ("time", pa.float64()),
    ("changed_area", pa.float64()), ("phash", pa.uint64()), ("fg_phash", pa.uint64()),
])

ERRORS = pa.schema([
    ("path", pa.string()), ("source_id", pa.string()), ("stage", pa.string()), ("error_type", pa.string()),
    ("message", pa.string()), ("attempt", pa.int32()),
])

FILTERED = pa.schema([
    ("path", pa.string()), ("source_id", pa.string()), ("clip_id", pa.string()), ("stage", pa.string()),
    ("reason", pa.string()),
])

TABLES: dict[str, pa.Schema] = {
    "sources": SOURCES, "clips": CLIPS, "keyframes": KEYFRAMES, "errors": ERRORS, "filtered": FILTERED,
}

# sort keys that make every table's row order independent of task scheduling
SORT_KEYS: dict[str, list[str]] = {
    "sources": ["path"], "clips": ["source_id", "start_frame"], "keyframes": ["clip_id", "frame"],
    "errors": ["path", "stage", "error_type"], "filtered": ["path", "clip_id", "stage"],
}

JSON_COLUMNS = frozenset({"provenance", "annotations"})
NULLABLE_COLUMNS = frozenset({"duplicate_of", "split"})  # null means "not set", kept apart from ""


def storable_text(text: str) -> str:
    """Valid UTF-8 for Parquet. A file name may hold bytes that are not UTF-8 (Python keeps them as lone
    surrogates); they are stored as backslash escapes (``bad\\xff.mp4``) instead of failing the write."""
    if text.isascii():  # the common case, and the cheapest test: ASCII is valid UTF-8
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return text.encode("utf-8", "backslashreplace").decode("utf-8")


def to_table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Rows (dicts from the record dataclasses) to a table with the declared schema.

    Column by column, with each column's treatment decided once (a task can hold tens of thousands of
    keyframe rows: deciding per cell cost ~60 µs a row)."""
    schema = TABLES[name]
    cols: dict[str, list[Any]] = {}
    for f in schema:
        key = f.name
        values = [row.get(key) for row in rows]
        if key in JSON_COLUMNS:
            values = [v if isinstance(v, str) else json.dumps(v or {}, sort_keys=True, ensure_ascii=False)
                      for v in values]
        if pa.types.is_string(f.type):
            empty = None if key in NULLABLE_COLUMNS else ""
            values = [empty if v is None else storable_text(v) if isinstance(v, str) else v for v in values]
        cols[key] = values
    return pa.table(cols, schema=schema)
