"""Finalize a build (merge task parts into the top-level tables) and open a built dataset."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from toonset.store.atomic import atomic_write_text
from toonset.store.schema import SCHEMA_VERSION, TABLES
from toonset.store.tables import concat, read_file, read_table, write_table

TASKS_DIR = "_tasks"


def finalize(out: str | Path, config: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge ``_tasks/*/<table>.parquet`` into ``<table>.parquet`` and write ``dataset.json`` (last)."""
    from toonset import __version__

    out = Path(out)
    parts = sorted(p for p in (out / TASKS_DIR).iterdir() if p.is_dir() and not p.name.startswith("."))
    done = {p.name for p in parts if (out / TASKS_DIR / f"{p.name}.done").exists()}
    tables: dict[str, pa.Table] = {}
    for name in TABLES:
        pieces = [read_file(p / f"{name}.parquet") for p in parts if p.name in done
                  and (p / f"{name}.parquet").exists()]
        tables[name] = concat(name, pieces)
        write_table(out / f"{name}.parquet", tables[name])
    summary = summarize(tables)
    meta = {
        "schema_version": SCHEMA_VERSION,
        "toonset_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": config,
        "counts": summary["counts"],
        "tasks": len(done),
    }
    if extra:
        meta.update(extra)
    atomic_write_text(out / "dataset.json", json.dumps(meta, indent=1, ensure_ascii=False))
    return summary


def summarize(tables: dict[str, pa.Table]) -> dict[str, Any]:
    sources, clips, errors = tables["sources"], tables["clips"], tables["errors"]
    total_frames = int(pc.sum(sources["frame_count"]).as_py() or 0) if sources.num_rows else 0
    duration = float(pc.sum(sources["duration"]).as_py() or 0.0) if sources.num_rows else 0.0
    return {
        "counts": {
            "sources": sources.num_rows,
            "clips": clips.num_rows,
            "keyframes": tables["keyframes"].num_rows,
            "errors": errors.num_rows,
            "filtered": tables["filtered"].num_rows,
            "frames": total_frames,
        },
        "duration_s": round(duration, 3),
        "errors_by_type": dict(Counter(errors["error_type"].to_pylist())) if errors.num_rows else {},
    }


class Dataset:
    """A built dataset: its tables as Arrow (``.clips``) or pandas (``.df('clips')``), plus loaders."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        meta = self.path / "dataset.json"
        if not meta.exists():
            raise FileNotFoundError(f"{self.path} is not a finished toonset dataset (no dataset.json)")
        self.meta: dict[str, Any] = json.loads(meta.read_text())
        self._cache: dict[str, pa.Table] = {}
        self._members: dict[str, dict[str, tuple[str, int, int]]] | None = None
        self._pictures: dict[str, dict[int, str]] = {}  # clip_id -> {frame: member}, parsed once per clip
        self._clip_rows: dict[str, dict[str, Any]] | None = None
        self._source_rows: dict[str, dict[str, Any]] | None = None

    def table(self, name: str) -> pa.Table:
        if name not in self._cache:
            self._cache[name] = read_table(self.path / f"{name}.parquet", name if name in TABLES else None)
        return self._cache[name]

    @property
    def sources(self) -> pa.Table:
        return self.table("sources")

    @property
    def clips(self) -> pa.Table:
        return self.table("clips")

    @property
    def keyframes(self) -> pa.Table:
        return self.table("keyframes")

    @property
    def errors(self) -> pa.Table:
        return self.table("errors")

    @property
    def filtered(self) -> pa.Table:
        return self.table("filtered")

    def df(self, name: str):
        return self.table(name).to_pandas()

    @property
    def shards(self) -> list[Path]:
        return sorted((self.path / "shards").glob("*.tar"))

    # ------------------------------------------------------------------ annotations
    def annotation_tables(self) -> list[str]:
        """Names of the merged annotation tables (``annotations/<name>.parquet``)."""
        folder = self.path / "annotations"
        return sorted(p.stem for p in folder.glob("*.parquet")) if folder.is_dir() else []

    def annotation(self, name: str) -> pa.Table:
        """An annotation table (``ocr``, ``ocr_clips``, ``regions``, ``tags``, ``coverage`` …) as Arrow."""
        key = f"annotations/{name}"
        if key not in self._cache:
            path = self.path / "annotations" / f"{name}.parquet"
            if "/" in name or name.startswith(".") or not path.exists():
                raise KeyError(f"no annotation table {name!r} in {self.path} (have: "
                               f"{', '.join(self.annotation_tables()) or 'none'}; run toonset annotate)")
            import pyarrow.parquet as pq

            self._cache[key] = pq.read_table(path)
        return self._cache[key]

    @property
    def annotators(self) -> dict[str, Any]:
        """What ran: annotator → version, params, model sha256, counts (``annotations/annotations.json``)."""
        path = self.path / "annotations" / "annotations.json"
        return json.loads(path.read_text()).get("annotators", {}) if path.exists() else {}

    # ------------------------------------------------------------------ pixels
    def members(self, clip_id: str) -> dict[str, tuple[str, int, int]]:
        """The shard members of a clip: extension → (shard, offset, size) (read once from tar headers)."""
        if self._members is None:
            from toonset.store.shards import index_members

            self._members = index_members(self.shards)
        return self._members.get(clip_id, {})

    def _clip_row(self, clip_id: str) -> dict[str, Any]:
        if self._clip_rows is None:
            rows = self.clips.select(["clip_id", "source_id", "start_frame", "num_frames", "start_time"]).to_pylist()
            self._clip_rows = {r["clip_id"]: r for r in rows}
        if clip_id not in self._clip_rows:
            raise KeyError(f"no clip {clip_id!r} in {self.path}")
        return self._clip_rows[clip_id]

    def _picture_members(self, clip_id: str) -> dict[int, str]:
        if clip_id not in self._pictures:
            from toonset.io.pictures import picture_frames

            self._pictures[clip_id] = picture_frames(self.members(clip_id))
        return self._pictures[clip_id]

    def keyframe_frames(self, clip_id: str) -> list[int]:
        """Source frame indices of the clip's stored keyframe pictures."""
        return sorted(self._picture_members(clip_id))

    def keyframe_image(self, clip_id: str, frame: int):
        """The stored picture of keyframe ``frame`` (source frame index) of a clip: RGB uint8 H×W×3."""
        from toonset.loaders.clip_frames import decode_picture
        from toonset.store.shards import read_member

        pictures = self._picture_members(clip_id)
        if frame not in pictures:
            self._clip_row(clip_id)  # an unknown clip says so
            raise KeyError(f"clip {clip_id} has no stored picture of frame {frame} (stored: "
                           f"{len(pictures)}; built with --no-keyframes?)")
        return decode_picture(read_member(self.members(clip_id)[pictures[frame]]))

    def clip_frames(self, clip_id: str, keep: set[int] | None = None, max_frames: int = 0, max_side: int = 0):
        """Every frame of a clip (T×H×W×3 RGB uint8), from its ``.mp4`` or, when stored by reference,
        decoded frame-accurately from the source; ``keep``: only these clip-relative indices."""
        from toonset.loaders.clip_frames import decode_media, decode_reference
        from toonset.store.shards import read_member

        members = self.members(clip_id)
        if "mp4" in members:
            return decode_media(read_member(members["mp4"]), keep, max_frames, max_side)
        row = self._clip_row(clip_id)
        if self._source_rows is None:
            rows = self.sources.select(["source_id", "path", "input_kind", "size_bytes"]).to_pylist()
            self._source_rows = {r["source_id"]: r for r in rows}
        src = self._source_rows[row["source_id"]]
        n = row["num_frames"] if not max_frames or keep is not None else min(row["num_frames"], max_frames)
        frames = decode_reference(src["path"], src["input_kind"], row["start_frame"], n, row["start_time"], keep,
                                  max_side, src["size_bytes"] if src["input_kind"] == "file" else None)
        return frames[:max_frames] if max_frames else frames

    def torch_dataset(self, keyframes_only: bool = False, max_frames: int = 0, transform=None,
                      keyframe_source: str = "auto", max_side: int = 0):
        """A ``torch.utils.data.Dataset`` of clips (needs the ``torch`` extra). With ``keyframes_only`` the
        stored keyframe pictures are used when present (``keyframe_source``: auto | pictures | video)."""
        from toonset.loaders.torch_dataset import ClipDataset

        return ClipDataset(self, keyframes_only=keyframes_only, max_frames=max_frames, transform=transform,
                           keyframe_source=keyframe_source, max_side=max_side)

    def __repr__(self) -> str:
        c = self.meta.get("counts", {})
        return f"Dataset({str(self.path)!r}, sources={c.get('sources')}, clips={c.get('clips')})"


def open_dataset(path: str | Path) -> Dataset:
    return Dataset(path)
