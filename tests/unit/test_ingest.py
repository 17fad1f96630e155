from __future__ import annotations

import os

import numpy as np
import pytest

from toonset.errors import UsageError
from toonset.ingest.local import expand_inputs, frame_sort_key


def _touch(p, data=b"x"):
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def test_folder_scan_is_recursive_sorted_and_keeps_odd_entries(tmp_path):
    _touch(tmp_path / "b" / "two.mp4")
    _touch(tmp_path / "a.mkv")
    _touch(tmp_path / "notes.txt")  # not a video: ignored in folder scans
    (tmp_path / "dir.mp4").mkdir()  # a directory named like a video: kept, to become an error row
    os.symlink("loop.mp4", tmp_path / "loop.mp4")  # symlink loop: kept, never followed
    refs = expand_inputs([str(tmp_path)])
    names = [os.path.relpath(r.path, tmp_path) for r in refs]
    assert "a.mkv" in names and os.path.join("b", "two.mp4") in names
    assert "dir.mp4" in names and "loop.mp4" in names
    assert "notes.txt" not in names
    assert len(names) == len(set(names))


def test_list_file_glob_and_dedup(tmp_path):
    a = _touch(tmp_path / "v" / "a.mp4")
    b = _touch(tmp_path / "v" / "b.webm")
    lst = tmp_path / "list.txt"
    lst.write_text(f"# comment\nv/a.mp4\n{b}\n\nmissing.mp4\n")
    refs = expand_inputs([str(lst), str(tmp_path / "v" / "*.mp4")])
    paths = [r.path for r in refs]
    assert paths == [str(a), str(b), str(tmp_path / "missing.mp4")]  # missing entries become error rows


def test_frame_folder_detected_with_natural_order(tmp_path):
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in (10, 2, 1):
        cv2.imwrite(str(folder / f"f{i}.png"), np.zeros((8, 8, 3), np.uint8))
    refs = expand_inputs([str(tmp_path)], fps=12)
    assert len(refs) == 1 and refs[0].kind == "frames" and refs[0].fps == 12
    assert sorted(["f10.png", "f2.png", "f1.png"], key=frame_sort_key) == ["f1.png", "f2.png", "f10.png"]


def test_missing_argument_and_empty_glob_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        expand_inputs([str(tmp_path / "nope.mp4")])
    with pytest.raises(UsageError, match="no files match"):
        expand_inputs([str(tmp_path / "*.mkv")])
