from __future__ import annotations

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
