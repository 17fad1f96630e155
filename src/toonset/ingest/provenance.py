"""Provenance sidecars: where a downloaded file came from, kept next to it as ``<file>.toonset.json``.

``toonset fetch`` writes one sidecar per media file; ``toonset build`` reads it back (``read_sidecar``),
keeps the whole record as the JSON column ``provenance`` of ``sources.parquet`` and fills the explicit
provenance columns from it (``source_columns``). A sidecar looks like::

    {"toonset_provenance": 1, "kind": "booru", "site": "https://www.sakugabooru.com", "post_id": 140633,
     "md5": "44f5...", "media_url": "https://.../44f5....mp4", "source_url": "https://twitter.com/...",
     "rating": "s", "tags": {"artist": ["..."], "copyright": ["doraemon", ...], "general": [...], ...},
     "tag_string": "animated artist_unknown ...", "fetched_at": "2025-01-01T00:00:00Z", ...}

``kind`` is ``booru`` (a Moebooru post) or ``url`` (a plain URL list entry).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from toonset.store.atomic import atomic_write_text

SIDECAR_SUFFIX = ".toonset.json"
SIDECAR_VERSION = 1
TAG_TYPES = {0: "general", 1: "artist", 3: "copyright", 4: "character", 5: "meta", 6: "meta"}
# Moebooru tag type ids; Sakugabooru uses 5 for "medium"/meta-like tags. Unknown ids map to "unknown".


def sidecar_path(media_path: str | os.PathLike) -> Path:
    """The sidecar of a media file: its full name plus ``.toonset.json`` (``a.mp4`` → ``a.mp4.toonset.json``)."""
    media_path = Path(media_path)
    return media_path.with_name(media_path.name + SIDECAR_SUFFIX)


def write_sidecar(media_path: str | os.PathLike, record: dict[str, Any]) -> Path:
    """Write the provenance record of ``media_path`` atomically; returns the sidecar path."""
    path = sidecar_path(media_path)
    body = {"toonset_provenance": SIDECAR_VERSION, **record}
    atomic_write_text(path, json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False))
    return path


def read_sidecar(media_path: str | os.PathLike) -> dict[str, Any]:
    """The provenance record next to ``media_path``; ``{}`` when there is none.

    A sidecar that cannot be read or parsed does not stop a build: the record says what went wrong."""
    path = sidecar_path(media_path)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {"sidecar_error": f"{type(exc).__name__}: {exc}"[:500]}
    return data if isinstance(data, dict) else {"sidecar_error": "sidecar is not a JSON object"}


def _tag_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if str(v)]
    return []


def source_columns(prov: dict[str, Any]) -> dict[str, Any]:
    """The explicit provenance columns of a source (and its ``series``) from a provenance record.

    ``series`` is the first copyright tag in sorted order (``doraemon`` before ``doraemon_(2005)``);
    splits by series use every copyright tag, so this choice never lets a franchise leak."""
    tags = prov.get("tags") if isinstance(prov.get("tags"), dict) else {}
    artist = sorted(set(_tag_list(tags.get("artist"))))
    copyright_ = sorted(set(_tag_list(tags.get("copyright"))))
    post_id = prov.get("post_id")
    try:
        post_id = int(post_id) if post_id is not None and prov.get("kind") == "booru" else None
    except (TypeError, ValueError):
        post_id = None
    return {
        "series": copyright_[0] if copyright_ else str(prov.get("series") or ""),
        "booru_post_id": post_id,
        "artist": " ".join(artist),
        "copyright": " ".join(copyright_),
        "rating": str(prov.get("rating") or ""),
        "source_url": str(prov.get("source_url") or ""),
        "media_url": str(prov.get("media_url") or ""),
    }
