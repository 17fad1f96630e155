"""Change a built dataset in place: replace a column, save tables atomically, note the step in dataset.json.

Curation steps (dedup, split) only add or overwrite their own columns; every other column, the shards and
the other tables stay as they are. ``dataset.json`` gets a ``curation`` entry per step with its
parameters and counts, so a dataset says how it was curated.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from toonset.errors import UsageError
from toonset.store.atomic import atomic_write_text
from toonset.store.dataset import Dataset, open_dataset
from toonset.store.tables import write_table


def open_for_curation(path: str | Path) -> Dataset:
    """Open a finished dataset or raise a one-line ``UsageError``."""
    try:
        return open_dataset(path)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from exc


def require_columns(ds: Dataset, table: str, columns: list[str], why: str) -> None:
    missing = [c for c in columns if c not in ds.table(table).column_names]
    if missing:
        raise UsageError(f"{ds.path}: {table}.parquet has no {', '.join(missing)} column; {why}")


def set_column(table: pa.Table, name: str, values: list[Any], type_: pa.DataType) -> pa.Table:
    """``table`` with column ``name`` replaced by (or appended as) ``values``."""
    column = pa.array(values, type=type_)
    index = table.schema.get_field_index(name)
    if index >= 0:
        return table.set_column(index, name, column)
    return table.append_column(name, column)


def save_tables(ds: Dataset, tables: dict[str, pa.Table]) -> None:
    """Write each table over ``<name>.parquet`` atomically (one file at a time)."""
    for name, table in tables.items():
        write_table(ds.path / f"{name}.parquet", table)
        ds._cache[name] = table


def note_step(ds: Dataset, step: str, info: dict[str, Any]) -> None:
    """Record a curation step in ``dataset.json`` (written last, atomically)."""
    meta = dict(ds.meta)
    curation = dict(meta.get("curation") or {})
    curation[step] = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **info}
    meta["curation"] = curation
    atomic_write_text(ds.path / "dataset.json", json.dumps(meta, indent=1, ensure_ascii=False, default=str))
    ds.meta = meta
