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

    def torch_dataset(self, keyframes_only: bool = False, max_frames: int = 0, transform=None):
        """A ``torch.utils.data.Dataset`` of clips (needs the ``torch`` extra)."""
        from toonset.loaders.torch_dataset import ClipDataset

        return ClipDataset(self, keyframes_only=keyframes_only, max_frames=max_frames, transform=transform)

    def __repr__(self) -> str:
        c = self.meta.get("counts", {})
        return f"Dataset({str(self.path)!r}, sources={c.get('sources')}, clips={c.get('clips')})"


def open_dataset(path: str | Path) -> Dataset:
    return Dataset(path)
