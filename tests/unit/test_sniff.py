"""Container headers read in pure Python (for the task order), and the cost estimate built on them."""

from __future__ import annotations

import os

import av
import numpy as np
import pytest

from toonset.executors.tasks import Task, largest_first, source_cost
from toonset.ingest.local import SourceRef
from toonset.io.sniff import sniff_header


def encode(path, frames: int, size: tuple[int, int], rate: int = 24, fmt: str | None = None) -> None:
    w, h = size
    with av.open(str(path), "w", format=fmt) as out:
        s = out.add_stream("mpeg4", rate=rate)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(frames):
            img = np.full((h, w, 3), (i * 7) % 255, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)


@pytest.mark.parametrize("name,fmt", [("a.mp4", None), ("a.mov", None), ("a.mkv", "matroska")])
def test_header_gives_size_and_length(tmp_path, name, fmt):
    path = tmp_path / name
    encode(path, 48, (96, 64), 24, fmt)
    info = sniff_header(str(path))
    assert info is not None
    assert (info.width, info.height) == (96, 64)
    assert info.duration == pytest.approx(2.0, abs=0.1)
    if name.endswith(".mkv"):
        assert info.frames == 0  # Matroska headers hold no frame count
    else:
        assert info.frames == 48  # the MP4 sample table does


def test_bad_headers_give_none(tmp_path):
    good = tmp_path / "good.mp4"
    encode(good, 24, (64, 48))
    data = good.read_bytes()
    assert data.index(b"moov") > data.index(b"mdat")  # the muxer writes the header last
    cases = {
        "empty.mp4": b"",
        "text.mp4": b"hello, not a video at all\n" * 10,
        "short.mkv": b"\x1a\x45\xdf\xa3\x9f",
        "huge_box.mp4": b"\x00\x00\x00\x18ftypisom" + b"\x00" * 12 + b"\xff\xff\xff\xffmoov",
        "zero_sizes.mkv": b"\x1a\x45\xdf\xa3\x80" + b"\x18\x53\x80\x67\x80" * 50,
        "truncated.mp4": data[: data.index(b"moov") - 4],  # cut before the header at the end
    }
    for name, blob in cases.items():
        (tmp_path / name).write_bytes(blob)
        assert sniff_header(str(tmp_path / name)) is None, name
    # a random byte soup under every name never raises
    rng = np.random.default_rng(0)
    for i in range(50):
        p = tmp_path / f"soup{i}.mkv"
        head = b"\x1a\x45\xdf\xa3" if i % 2 else b"\x00\x00\x00\x20ftyp"
        p.write_bytes(head + rng.integers(0, 256, 2000, dtype=np.uint8).tobytes())
        sniff_header(str(p))


def test_long_small_file_runs_before_short_big_one(tmp_path):
    """A long, cheap-to-store video (few bytes a frame) costs more than a short file with more bytes."""
    long_small = tmp_path / "long.mp4"
    encode(long_small, 480, (160, 120))  # 20 s of flat frames: tiny
    short_big = tmp_path / "short.avi"  # not a format the header reader knows: estimated by size
    short_big.write_bytes(os.urandom(max(1, long_small.stat().st_size * 3)))
    a, b = SourceRef(str(long_small)), SourceRef(str(short_big))
    assert source_cost(a) > source_cost(b) > 0
    order = largest_first([Task(0, [b]), Task(1, [a])])
    assert [t.index for t in order] == [1, 0]
    # without the header (budget spent) the same file is estimated by its size alone
    assert source_cost(a, sniff=False) == pytest.approx(long_small.stat().st_size * 2e-7)
    assert [t.index for t in largest_first([Task(0, [b]), Task(1, [a])], budget_s=0.0)] == [0, 1]


def test_frame_folder_cost_counts_images(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(10):
        (folder / f"{i:04d}.png").write_bytes(b"x" * 100)
    cost = source_cost(SourceRef(str(folder), "frames", 24.0))
    assert cost > 0
    (folder / "0010.png").write_bytes(b"x" * 100)
    assert source_cost(SourceRef(str(folder), "frames", 24.0)) > cost
    assert source_cost(SourceRef(str(folder), "frames", 24.0), sniff=False) == 0.0  # budget spent: not listed
