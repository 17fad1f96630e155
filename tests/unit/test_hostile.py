"""A hostile corpus through one real build: every input ends as an error row or a correct source with clips,
the run completes, rotated video is analysed upright and variable frame rate times come from PTS."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import av
import numpy as np
import pytest
from tests.hostile import FPS, KINDS, SHOT, make_corpus, permission_bits_apply, vfr_pts_ms

from toonset import open_dataset


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("hostile")
    corpus = root / "in"
    corpus.mkdir()
    unreadable_ok, preexec, why = permission_bits_apply(root)
    kinds = make_corpus(corpus, unreadable_ok)
    (root / "sub").mkdir()
    cfg = root / "toonset.toml"
    cfg.write_text("[executor]\nsources_per_task = 4\nsource_timeout_s = 120.0\n")
    out = root / "ds"
    r = subprocess.run(  # the input path goes through '..'; the build runs bound by file permission bits
        [sys.executable, "-m", "toonset", "build", str(root / "sub" / ".." / "in"), "-o", str(out),
         "--workers", "2", "--config", str(cfg), "--json", "-q"],
        capture_output=True, text=True, timeout=600, preexec_fn=preexec,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    ds = open_dataset(out)
    sources, errors = ds.df("sources"), ds.df("errors")
    sources["name"] = [Path(p).name for p in sources.path]
    errors["name"] = [Path(p).name for p in errors.path]
    return {"kinds": kinds, "unreadable_why": why, "summary": json.loads(r.stdout), "ds": ds,
            "sources": sources.set_index("name"), "errors": errors.set_index("name"), "clips": ds.df("clips")}


def _stored(name: str) -> str:
    """How a name is stored: bytes that are not UTF-8 become backslash escapes."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def test_the_run_completes_and_accounts_for_every_input(built):
    assert len(KINDS) >= 15
    names = sorted(_stored(k) for k in built["kinds"])
    seen = sorted([*built["sources"].index, *built["errors"].index])
    assert seen == names  # each input exactly once: nothing lost, nothing doubled
    assert built["summary"]["counts"]["errors"] == sum(1 for k in built["kinds"].values() if k.error)


@pytest.mark.parametrize("name", list(KINDS))
def test_each_hostile_kind_ends_as_expected(built, name):
    kind = KINDS[name]
    if name not in built["kinds"]:
        pytest.skip(f"cannot make an unreadable file here: {built['unreadable_why']}")
    stored = _stored(name)
    if kind.error:
        assert stored not in built["sources"].index
        row = built["errors"].loc[stored]
        assert row.error_type == kind.error, row.message
        assert len(row.message) > 5
        return
    assert stored not in built["errors"].index, built["errors"].loc[stored].message
    src = built["sources"].loc[stored]
    assert src.status in kind.status
    clips = built["clips"][built["clips"].source_id == src.source_id].sort_values("start_frame")
    assert len(clips) >= 1 and clips.end_frame.iloc[-1] == src.frame_count
    assert (clips.start_time.values[1:] >= clips.end_time.values[:-1] - 1e-6).all()
    if src.status == "ok" and src.frame_count == 2 * SHOT:
        assert list(clips.start_frame) == [0, SHOT]  # the one cut of the base clip is found
    if name == "corrupt_packets.mp4":
        assert src.decode_errors > 0 and src.frame_count >= 0.75 * 96
    if name == "truncated_faststart.mp4":
        assert 0 < src.frame_count < 2 * SHOT
    if name == "ts_start_offset.ts":
        assert clips.start_time.iloc[0] == pytest.approx(10.0, abs=1e-3)  # PTS, not frame / fps
    if name == "wrong_extension.mp4":
        assert src.container.startswith("matroska")


def test_vfr_times_come_from_pts_and_the_rate_is_the_average(built):
    src = built["sources"].loc["vfr.mp4"]
    clips = built["clips"][built["clips"].source_id == src.source_id].sort_values("start_frame")
    pts = vfr_pts_ms(2 * SHOT)
    assert bool(src.vfr)
    assert clips.start_time.iloc[1] == pytest.approx(pts[SHOT] / 1000, abs=1e-3)  # 1.68 s, not 24 / fps
    mean_step = (pts[-1] - pts[0]) / (len(pts) - 1) / 1000
    assert src.fps == pytest.approx(1 / mean_step, rel=0.1) and src.fps < FPS * 0.7
    kf = built["ds"].df("keyframes")
    times = kf[kf.clip_id.isin(clips.clip_id)].sort_values("frame")
    for frame, t in zip(times.frame, times.time):
        assert t == pytest.approx(pts[frame] / 1000, abs=1e-3)


def test_rotated_video_is_analysed_and_cut_upright(built):
    src = built["sources"].loc["rotated.mp4"]
    assert (src.rotation, src.width, src.height) == (90, 96, 160)  # portrait, as displayed
    clip = built["clips"][built["clips"].source_id == src.source_id].iloc[0]
    with tarfile.open(built["ds"].path / clip.shard) as tar:
        data = tar.extractfile(f"{clip.clip_id}.mp4").read()
    with av.open(io.BytesIO(data)) as c:
        rgb = next(iter(c.decode(video=0))).to_ndarray(format="rgb24")
    assert rgb.shape[:2] == (160, 96)
    top, bottom = rgb[:70].astype(np.float32).mean(), rgb[-70:].astype(np.float32).mean()
    assert abs(top - bottom) > 100  # the white left half of the coded picture is now on top or bottom
