from __future__ import annotations

import subprocess
import sys

import pytest

from toonset.store.atomic import atomic_open, inside, safe_name
from toonset.store.schema import to_table


def test_atomic_open_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write(b"new")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_inside_refuses_escapes(tmp_path):
    assert inside(tmp_path, "a", "b.txt") == (tmp_path / "a" / "b.txt").resolve()
    for bad in ("../x", "/etc/passwd", "a/../../x"):
        with pytest.raises(ValueError):
            inside(tmp_path, bad)


def test_safe_name():
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name("名前\nnew line.mp4") == "new_line.mp4"
    assert safe_name("..") == "unnamed"


def test_schema_fills_json_and_strings():
    t = to_table("errors", [{"path": "p", "stage": "s", "error_type": "e", "message": "m", "attempt": 1}])
    assert t.column("source_id").to_pylist() == [""]


def test_worker_pandas_probe_skipped_but_explicit_pandas_still_works(tmp_path):
    """Workers write tables without importing pandas (pyarrow's probe is answered "no pandas"), yet an
    explicit ``to_pandas`` in the same process still imports and uses it."""
    script = f"""
import sys
from toonset.store.tables import skip_pandas_probe, write_rows, read_table
from toonset.model.records import Keyframe
skip_pandas_probe()
write_rows({str(tmp_path / 'k.parquet')!r}, 'keyframes', [Keyframe('c', 1, 2, 0.5, 0.1, 2**64 - 1, 0).row()])
assert 'pandas' not in sys.modules, 'pandas was imported by a table write'
table = read_table({str(tmp_path / 'k.parquet')!r})
assert table.column('phash').to_pylist() == [2**64 - 1]
frame = table.to_pandas()
assert 'pandas' in sys.modules and len(frame) == 1
import pyarrow as pa, pandas as pd
assert pa.array(pd.Series([1, 2])).to_pylist() == [1, 2]
print('ok')
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
