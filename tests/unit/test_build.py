"""End-to-end ``build`` on small generated videos: tables, tiling, shards, bad inputs, stable ids."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import av
import pyarrow.parquet as pq
import pytest
from tests.helpers import scene, with_figure, write_video

from toonset import open_dataset
from toonset.config import BuildConfig
from toonset.run import build_dataset

REQUIRED = {
    "sources": {"source_id", "path", "sha256", "width", "height", "fps", "fps_num", "fps_den", "frame_count",
                "duration", "has_audio", "status"},
    "clips": {"clip_id", "source_id", "start_frame", "end_frame", "start_time", "end_time", "num_frames",
              "num_keyframes", "dynamic_score", "hold_ones", "hold_twos", "hold_threes", "hold_longer", "motion"},
    "keyframes": {"clip_id", "frame", "hold"},
    "errors": {"path", "source_id", "stage", "error_type", "message"},
}


def _shot(seed, n, hold):
    bg = scene(seed)
    return [with_figure(bg, i // hold) for i in range(n)]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("inputs")
    write_video(d / "one.mp4", _shot(1, 24, 2) + _shot(2, 30, 3), fps=24, audio=True)
    write_video(d / "two.mp4", _shot(3, 40, 1), fps=30)
    (d / "empty.mp4").write_bytes(b"")
    (d / "text.mp4").write_bytes(b"hello world" * 100)
    good = (d / "one.mp4").read_bytes()
    (d / "truncated.mp4").write_bytes(good[: len(good) // 3])
    return d


@pytest.fixture(scope="module")
def built(inputs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds") / "dataset"
    build_dataset([str(inputs)], out, BuildConfig(), workers=2)
    return out


def test_tables_have_contract_columns(built):
    for name, cols in REQUIRED.items():
        table = pq.read_table(built / f"{name}.parquet")
        assert cols <= set(table.column_names), name
    meta = json.loads((built / "dataset.json").read_text())
    assert meta["schema_version"] == 1 and meta["counts"]["sources"] == 2
    from toonset.analyze.shots import ShotDetector
    from toonset.analyze.timing import TimingAnalyzer

    analyzers = meta["analyzers"]  # every annotation's maker, by name and version
    assert analyzers[ShotDetector.name] == ShotDetector.version
    assert analyzers[TimingAnalyzer.name] == TimingAnalyzer.version
    assert {"frames.analysis", "fingerprint.phash", "timing.sakuga42m"} <= set(analyzers)


def test_bad_inputs_become_error_rows(built, inputs):
    errors = open_dataset(built).df("errors")
    by_name = {Path(p).name: t for p, t in zip(errors.path, errors.error_type)}
    assert by_name["empty.mp4"] == "empty_file"
    assert by_name["text.mp4"] == "not_a_video"
    assert "truncated.mp4" in by_name  # moov atom at the end: cannot be opened
    assert all(errors.message.str.len() > 5)


def test_clips_tile_sources_and_keyframes_add_up(built):
    ds = open_dataset(built)
    sources, clips, kf = ds.df("sources"), ds.df("clips"), ds.df("keyframes")
    src = sources.set_index("source_id")
    one = src[src.path.str.endswith("one.mp4")].iloc[0]
    assert one.frame_count == 54 and one.has_audio and one.fps_num == 24 and one.fps_den == 1
    for sid, group in clips.groupby("source_id"):
        group = group.sort_values("start_frame")
        assert group.start_frame.iloc[0] == 0 and group.end_frame.iloc[-1] == src.loc[sid, "frame_count"]
        assert (group.start_frame.values[1:] >= group.end_frame.values[:-1]).all()
    assert sorted(clips[clips.source_id == one.name].start_frame) == [0, 24]
    for _, c in clips.iterrows():
        k = kf[kf.clip_id == c.clip_id].sort_values("frame")
        assert k.frame.iloc[0] == c.start_frame
        assert k.hold.sum() == c.num_frames
        assert c.num_keyframes == len(k)
        assert c.dynamic_score == pytest.approx(len(k) / c.num_frames)
        assert abs(c.hold_ones + c.hold_twos + c.hold_threes + c.hold_longer - 1) < 1e-6
    two = clips[clips.source_id == src[src.path.str.endswith("two.mp4")].index[0]].iloc[0]
    assert two.timing == "ones" and two.num_keyframes >= 38


def test_shards_hold_frame_accurate_clips(built):
    ds = open_dataset(built)
    clips = ds.df("clips").set_index("clip_id")
    seen = 0
    for shard in ds.shards:
        with tarfile.open(shard) as tar:
            names = tar.getnames()
            for name in names:
                if not name.endswith(".mp4"):
                    continue
                key = name[:-4]
                assert f"{key}.json" in names
                with av.open(tar.extractfile(name)) as c:
                    n = sum(1 for _ in c.decode(video=0))
                assert n == clips.loc[key, "num_frames"]
                seen += 1
    assert seen == len(clips)


def test_tables_are_the_same_whatever_is_stored(built, inputs, tmp_path):
    """--no-media, reference mode and --no-keyframes store less, never analyse differently: the clips,
    keyframes and sources tables are byte-identical (the sources' paths are the same files)."""
    variants = {
        "no-media": (BuildConfig(), False),
        "reference": (BuildConfig.from_dict({"media": {"mode": "reference"}}), True),
        "no-keyframes": (BuildConfig.from_dict({"keyframes": {"enabled": False}}), True),
    }
    for name, (cfg, media) in variants.items():
        out = tmp_path / name
        build_dataset([str(inputs)], out, cfg, workers=1, media=media)
        for table in ("clips", "keyframes", "sources"):
            assert (built / f"{table}.parquet").read_bytes() == (out / f"{table}.parquet").read_bytes(), (name, table)
        names = []
        for shard in sorted((out / "shards").glob("*.tar")):
            with tarfile.open(shard) as tar:
                names += tar.getnames()
        assert bool([n for n in names if n.endswith(".mp4")]) == (name == "no-keyframes"), name
        pictures = [n for n in names if ".kf." in n]
        assert bool(pictures) == (name != "no-keyframes"), name
    # every keyframe of the default build has its picture, and no other frame has one
    ds = open_dataset(built)
    kf = ds.df("keyframes")
    for cid, group in kf.groupby("clip_id"):
        assert ds.keyframe_frames(cid) == sorted(group.frame.tolist())


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "toonset", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_exit_codes(tmp_path, inputs):
    r = _cli("build", str(tmp_path / "nothing-here.mp4"), "-o", str(tmp_path / "o"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "input not found" in r.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _cli("build", str(inputs / "two.mp4"), "-o", str(blocker))
    assert r.returncode == 2 and "not a folder" in r.stderr
    r = _cli("build", "--frobnicate")
    assert r.returncode == 2
    r = _cli("build", str(inputs / "two.mp4"), "-o", str(tmp_path / "ok"), "--no-media", "--json", "-q")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["counts"]["clips"] >= 1
    r = _cli("inspect", str(tmp_path / "ok"), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["counts"]["sources"] == 1


def test_cli_shots_and_timing_json(inputs):
    r = _cli("shots", str(inputs / "one.mp4"), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["frame_count"] == 54 and [s["start_frame"] for s in data["shots"]] == [0, 24]
    assert set(data["shots"][0]) >= {"start_frame", "end_frame", "start_time", "end_time", "transition"}
    r = _cli("timing", str(inputs / "one.mp4"), "--json")
    t = json.loads(r.stdout)
    assert t["frame_count"] == 54 and sum(t["holds"]) == 54 and t["keyframes"][0] == 0
    assert 24 in t["keyframes"]


def test_auto_task_size_keeps_workers_busy_and_bounds_parts():
    from toonset.run import auto_sources_per_task

    assert auto_sources_per_task(17, 2) == 1  # a small build: one source a task, balanced to the end
    assert auto_sources_per_task(1000, 2) == 31  # >= 16 tasks per worker
    assert auto_sources_per_task(10**6, 64) == 64  # a crawl: bounded task size
    assert auto_sources_per_task(0, 0) == 1


def test_black_opening_and_ending_are_transitions_not_clips(tmp_path):
    import numpy as np

    a, b = _shot(1, 30, 3), _shot(2, 30, 3)
    black = np.zeros_like(a[0])
    video = write_video(tmp_path / "black_ends.mp4", [black] * 5 + a + b + [black] * 7, fps=24)
    build_dataset([str(video)], tmp_path / "ds", BuildConfig(), workers=1)
    ds = open_dataset(tmp_path / "ds")
    clips = ds.df("clips").sort_values("start_frame")
    assert list(zip(clips.start_frame, clips.end_frame)) == [(5, 35), (35, 65)]
    assert list(clips.transition_in) == ["fade", "cut"] and list(clips.transition_out) == ["cut", "fade"]
    kf = ds.df("keyframes")
    assert all(kf[kf.clip_id == c].hold.sum() == n for c, n in zip(clips.clip_id, clips.num_frames))
    with tarfile.open(next((tmp_path / "ds" / "shards").glob("*.tar"))) as tar:
        assert sum(m.name.endswith(".mp4") for m in tar.getmembers()) == 2


def test_decoding_in_runs_changes_no_result(inputs, tmp_path):
    """Runs of decoded frames (``decode.run_frames``) only reorder work between decoder and analyzers."""
    tables = []
    for run_frames in (1, 5, 128):
        cfg = BuildConfig()
        cfg.decode.run_frames = run_frames
        out = tmp_path / f"runs{run_frames}"
        build_dataset([str(inputs)], out, cfg, workers=1, media=False)
        tables.append({name: pq.read_table(out / f"{name}.parquet") for name in ("clips", "keyframes")})
    assert tables[0]["clips"].num_rows >= 2 and tables[0]["keyframes"].num_rows > 10
    for other in tables[1:]:
        for name in ("clips", "keyframes"):
            assert other[name].equals(tables[0][name]), name
