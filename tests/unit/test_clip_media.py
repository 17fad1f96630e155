"""What a build stores of each clip, read back: encoded media (quality floor, exact frames and times),
reference mode (frame-accurate decoding from the source, through seeks), keyframe pictures."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from tests.helpers import scene, with_figure, write_video

from toonset import open_dataset
from toonset.config import BuildConfig
from toonset.io.frames import fit_size, plane_array, resize_plane
from toonset.loaders.clip_frames import ClipReadError, decode_reference
from toonset.run import build_dataset
from toonset.store.shards import read_member


def _write_gop_video(path: Path, frames: list[np.ndarray], fps: int = 24) -> Path:
    """H.264 with B-frames and a keyframe every 12 frames, so reading a clip back has to seek."""
    return write_video(path, frames, fps=fps, options={
        "crf": "16", "preset": "veryfast", "x264-params": "keyint=12:min-keyint=12:bframes=2:scenecut=0"})


def _source_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _source_luma(path: Path, size: tuple[int, int]) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [resize_plane(plane_array(f.planes[0]), *size) for f in c.decode(video=0)]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("media")
    frames = ([with_figure(scene(1), i // 2) for i in range(30)] + [with_figure(scene(2), i // 3) for i in range(27)]
              + [with_figure(scene(3), i) for i in range(21)])
    frames = [np.ascontiguousarray(np.kron(f, np.ones((2, 2, 1), np.uint8))) for f in frames]  # 2x: scaled media
    return _write_gop_video(d / "gop.mp4", frames)


@pytest.fixture(scope="module")
def encoded(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("enc") / "ds"
    build_dataset([str(source)], out, BuildConfig.from_dict({"media": {"max_side": 240}}), workers=1)
    return open_dataset(out)


@pytest.fixture(scope="module")
def referenced(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "ds"
    build_dataset([str(source)], out, BuildConfig.from_dict({"media": {"mode": "reference"}}), workers=1)
    return open_dataset(out)


def test_encoded_clips_keep_frames_times_and_quality(encoded, source):
    clips = encoded.df("clips")
    assert len(clips) == 3
    src = encoded.df("sources").iloc[0]
    size = fit_size(int(src.width), int(src.height), 240)
    assert size[0] < src.width  # the clip media really is scaled
    luma = _source_luma(source, size)
    for row in clips.itertuples():
        data = read_member(encoded.members(row.clip_id)["mp4"])
        with av.open(io.BytesIO(data)) as c:
            frames = list(c.decode(video=0))
        assert len(frames) == row.num_frames
        assert (frames[0].width, frames[0].height) == size
        times = [float(f.time) for f in frames]
        expected = [row.start_time + i / 24 - row.start_time for i in range(row.num_frames)]
        assert np.allclose(times, expected, atol=1e-3)  # PTS relative to the clip start, one frame apart
        ref = luma[row.start_frame : row.end_frame]
        psnr = np.mean([_psnr(plane_array(f.planes[0]), r) for f, r in zip(frames, ref)])
        assert psnr >= 38.0, (row.clip_id, psnr)


def test_reference_clips_decode_frame_accurately_through_seeks(referenced, source):
    full = _source_frames(source)
    clips = referenced.df("clips")
    assert not [m for c in clips.clip_id for m in referenced.members(c) if m == "mp4"]
    assert clips.start_frame.max() > 12  # at least one clip starts past the first keyframe interval
    for row in clips.itertuples():
        got = referenced.clip_frames(row.clip_id)
        assert got.shape[0] == row.num_frames
        for i, frame in enumerate(got):
            assert np.array_equal(frame, full[row.start_frame + i]), (row.clip_id, i)
        part = referenced.clip_frames(row.clip_id, keep={1, 3})
        assert np.array_equal(part[1], full[row.start_frame + 3])


def test_reference_mode_refuses_a_changed_or_missing_source(referenced, source, tmp_path):
    row = referenced.df("clips").iloc[1]
    n = int(referenced.df("sources").size_bytes.iloc[0])
    with pytest.raises(ClipReadError, match="changed since the build"):
        decode_reference(str(source), "file", int(row.start_frame), 3, float(row.start_time), size_bytes=n + 1)
    with pytest.raises(ClipReadError, match="gone"):
        decode_reference(str(tmp_path / "missing.mp4"), "file", 0, 3, 0.0)


def test_keyframe_pictures_match_the_source_frames(referenced, source):
    full = _source_frames(source)
    kf = referenced.df("keyframes")
    assert len(kf) > 10
    for row in kf.itertuples():
        img = referenced.keyframe_image(row.clip_id, int(row.frame))
        src = full[int(row.frame)]
        assert img.shape == src.shape and img.dtype == np.uint8  # 512 px default: this source is smaller
        assert _psnr(img, src) > 30.0
    with pytest.raises(KeyError, match="no stored picture"):
        held = sorted(set(range(int(kf.frame.max()))) - set(kf.frame.astype(int)))[0]
        clip = referenced.df("clips")
        cid = clip[(clip.start_frame <= held) & (clip.end_frame > held)].clip_id.iloc[0]
        referenced.keyframe_image(cid, held)


def test_torch_loader_reads_reference_clips_and_pictures(referenced, source):
    torch = pytest.importorskip("torch", reason="the torch extra is not installed")
    full = _source_frames(source)
    ds = referenced.torch_dataset()
    item = ds[2]
    assert torch.equal(item["frames"][0], torch.from_numpy(full[int(item["meta"]["start_frame"])]))
    kf = referenced.torch_dataset(keyframes_only=True)
    assert kf.use_pictures
    assert kf[0]["frames"].shape[0] == kf[0]["meta"]["num_keyframes"]
    video = referenced.torch_dataset(keyframes_only=True, keyframe_source="video")
    assert not video.use_pictures and video[0]["frames"].shape == kf[0]["frames"].shape
