"""Parquet tables: atomic writes and reads with the declared schemas."""

from __future__ import annotations

import importlib.abc
import io
import os
import sys
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from toonset.store.atomic import atomic_write_bytes
from toonset.store.schema import SORT_KEYS, TABLES, to_table


class _NoPandas(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):  # the MetaPathFinder protocol
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not imported by toonset workers")
        return None


def skip_pandas_probe() -> None:
    """Spare a worker process the ~0.35 s pandas import pyarrow does the first time it converts Python
    values, only to ask whether they are pandas objects (workers never hand it any).

    The first probe runs with ``import pandas`` failing, so pyarrow's implicit checks conclude "no pandas";
    explicit conversions (``Table.to_pandas``) still import pandas when called. Only for toonset's own
    worker processes: in a user's process pyarrow would stop recognising pandas objects it is given.
    Best effort: if the probe fails for any reason, pyarrow is left to import pandas as usual."""
    if "pandas" in sys.modules:
        return
    blocker = _NoPandas()
    sys.meta_path.insert(0, blocker)
    try:
        pa.array([0])
    except Exception:  # an optimisation must never stop a worker
        pass
    finally:
        sys.meta_path.remove(blocker)


def write_table(path: str | os.PathLike, table: pa.Table) -> None:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    atomic_write_bytes(path, buf.getvalue())


def write_rows(path: str | os.PathLike, name: str, rows: list[dict[str, Any]]) -> None:
    write_table(path, sort_table(name, to_table(name, rows)))


def read_table(path: str | os.PathLike, name: str | None = None) -> pa.Table:
    if not os.path.exists(path) and name is not None:
        return TABLES[name].empty_table()
    return read_file(path)


def read_file(path: str | os.PathLike) -> pa.Table:
    """One Parquet file, whole: ``ParquetFile.read`` skips the dataset machinery of ``pq.read_table``
    (~0.7 against 1–4 ms for a task's small part; a build merges five parts per task)."""
    f = pq.ParquetFile(path)
    try:
        return f.read()
    finally:
        f.close()


def sort_table(name: str, table: pa.Table) -> pa.Table:
    keys = [k for k in SORT_KEYS.get(name, []) if k in table.column_names]
    if not keys or table.num_rows == 0:
        return table
    return table.sort_by([(k, "ascending") for k in keys])


def concat(name: str, tables: list[pa.Table]) -> pa.Table:
    schema = TABLES[name]
    parts = [t.cast(schema) if t.schema != schema else t for t in tables if t.num_rows]
    if not parts:
        return schema.empty_table()
    return sort_table(name, pa.concat_tables(parts))
