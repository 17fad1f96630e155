from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from tests.helpers import scene, write_video
from tests.hostile import audio_only

from toonset.config import DecodeConfig
from toonset.errors import (
    DimensionsError,
    EmptyFileError,
    NotAVideoError,
    NoVideoStreamError,
    UnreadableError,
)
from toonset.ingest.local import SourceRef
from toonset.io.decode import open_reader
from toonset.io.probe import probe


def _frames(n, seed=0):
    return [scene(seed + i // 4) for i in range(n)]


def test_decode_counts_frames_times_and_exact_rate(tmp_path):
    path = write_video(tmp_path / "a.mp4", _frames(30), fps=Fraction(24000, 1001))
    info = probe(str(path))
    assert info.fps == Fraction(24000, 1001)
    with open_reader(SourceRef(str(path)), DecodeConfig(analysis_width=64), compat=True) as r:
        frames = list(r.frames())
    assert len(frames) == 30 == r.frame_count
    times = np.array([f.time for f in frames])
    assert np.allclose(np.diff(times), 1001 / 24000, atol=1e-4)
    assert frames[0].luma.shape == (38, 64) and frames[0].compat.shape == (64, 64)
    assert r.sha256 and len(r.sha256) == 64


def test_rotation_from_display_matrix_is_applied(tmp_path):
    img = np.zeros((48, 96, 3), np.uint8)
    img[:, :48] = 255  # left half white
    path = write_video(tmp_path / "rot.mp4", [img] * 3, rotation=90)
    with open_reader(SourceRef(str(path)), DecodeConfig(analysis_width=48), keep_pixels=True) as r:
        f = next(iter(r.frames()))
    assert r.rotation in (90, 270)
    assert f.luma.shape[0] > f.luma.shape[1]  # portrait after rotation
    rgb = f.rgb()
    assert rgb.shape[:2] == (96, 48)
    top, bottom = rgb[:40].mean(), rgb[-40:].mean()
    assert abs(top - bottom) > 100  # the white half is now at the top or the bottom


def test_frame_folder_reader(tmp_path):
    import cv2

    d = tmp_path / "seq"
    d.mkdir()
    for i in range(5):
        cv2.imwrite(str(d / f"{i}.png"), scene(i))
    with open_reader(SourceRef(str(d), "frames", 12.0), DecodeConfig(analysis_width=80)) as r:
        frames = list(r.frames())
    assert len(frames) == 5 and r.fps == 12
    assert frames[1].time == pytest.approx(1 / 12)


@pytest.mark.parametrize(
    "maker, error",
    [
        (lambda p: p.write_bytes(b""), EmptyFileError),
        (lambda p: p.write_bytes(b"this is not a video at all" * 50), NotAVideoError),
        (lambda p: p.mkdir(), UnreadableError),
    ],
)
def test_bad_inputs_raise_typed_errors(tmp_path, maker, error):
    p = tmp_path / "bad.mp4"
    maker(p)
    with pytest.raises(error):
        open_reader(SourceRef(str(p)), DecodeConfig())


def test_audio_only_and_giant_dimensions(tmp_path):
    audio = tmp_path / "audio.m4a"
    audio_only(audio)
    with pytest.raises(NoVideoStreamError):
        open_reader(SourceRef(str(audio)), DecodeConfig())
    video = write_video(tmp_path / "v.mp4", _frames(3))
    with pytest.raises(DimensionsError):
        open_reader(SourceRef(str(video)), DecodeConfig(max_width=64, max_height=64))


def test_frame_runs_keep_every_frame_in_order_and_bound_held_pixels(tmp_path, monkeypatch):
    from toonset.io import decode

    path = write_video(tmp_path / "runs.mp4", _frames(30), fps=24)
    ref = SourceRef(str(path))
    with open_reader(ref, DecodeConfig(analysis_width=64, run_frames=8)) as r:
        runs = list(decode.frame_runs(r))
    assert [len(run) for run in runs] == [8, 8, 8, 6]
    assert [f.index for run in runs for f in run] == list(range(30))
    with open_reader(ref, DecodeConfig(analysis_width=64, run_frames=1)) as r:
        assert [len(run) for run in decode.frame_runs(r)] == [1] * 30
    # a run holds at most RUN_BYTES of pictures: analysis images, and full-resolution frames when kept
    w, h = 160, 96
    analysis = 5 * 64 * 38 + 2 * 64 * 64  # 64x38 analysis luma, its detail, chroma and thumbnails
    monkeypatch.setattr(decode, "RUN_BYTES", 3 * (analysis + w * h * 3))
    with open_reader(ref, DecodeConfig(analysis_width=64, run_frames=8), keep_pixels=True) as r:
        assert (r.info.width, r.info.height) == (w, h)
        assert [len(run) for run in decode.frame_runs(r)] == [3] * 10
    monkeypatch.setattr(decode, "RUN_BYTES", 5 * analysis)
    with open_reader(ref, DecodeConfig(analysis_width=64, run_frames=8)) as r:
        assert [len(run) for run in decode.frame_runs(r)] == [5] * 6
