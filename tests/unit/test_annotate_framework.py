"""The annotator framework: tables with provenance, coverage, resume, versions, collisions, errors, filters."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.helpers import copy_dataset, scene, with_figure, write_video

from toonset import open_dataset
from toonset.annotate.base import MissingModelError
from toonset.annotate.runner import AnnotationError, annotate_dataset
from toonset.config import BuildConfig
from toonset.curate.filter import select_clip_ids
from toonset.errors import UsageError
from toonset.run import build_dataset

MEAN = "tests.fake_annotators:MeanColour"
MEAN2 = "tests.fake_annotators:MeanColourV2"
SUMMARY = "tests.fake_annotators:Summary"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("annot")
    frames = []
    for shot in range(6):  # six shots, held on twos
        frames += [with_figure(scene(shot + 1), i // 2) for i in range(12)]
    write_video(d / "a.mp4", frames)
    write_video(d / "b.mp4", [with_figure(scene(9), i) for i in range(10)])
    build_dataset([str(d / "a.mp4"), str(d / "b.mp4")], d / "ds", BuildConfig(), workers=1, media=False)
    return d / "ds"


def test_tables_rows_provenance_and_coverage(built, tmp_path):
    ds_path = copy_dataset(built, tmp_path)
    model = tmp_path / "weights.bin"
    model.write_bytes(b"tiny model")
    summary = annotate_dataset(ds_path, [MEAN], {"meancolour": {"model": str(model)}}, workers=1,
                               clips_per_task=2)
    ds = open_dataset(ds_path)
    per_frame = ds.annotation("meancolour").to_pandas()
    kf = ds.df("keyframes")
    assert len(per_frame) == len(kf)  # one row per keyframe picture
    assert set(zip(per_frame.clip_id, per_frame.frame)) == set(zip(kf.clip_id, kf.frame))
    row = per_frame.iloc[0]
    assert row.annotator == "meancolour" and row.annotator_version == "1"
    import hashlib

    assert row.model_sha256 == hashlib.sha256(b"tiny model").hexdigest()
    assert json.loads(row.params)["model"] == str(model)
    clips = ds.annotation("meancolour_clips").to_pandas()
    assert len(clips) == len(ds.df("clips")) and clips.brightness.between(1, 254).all()
    cov = ds.annotation("coverage").to_pandas()
    assert (cov.status == "ok").all()
    assert cov.keyframes_seen.sum() == len(kf)
    assert summary["annotators"]["meancolour"]["clips"] == len(clips)
    assert ds.annotators["meancolour"]["version"] == "1"


def test_rerun_adds_nothing_and_new_version_reruns_only_that_annotator(built, tmp_path):
    ds_path = copy_dataset(built, tmp_path)
    first = annotate_dataset(ds_path, [MEAN, SUMMARY], workers=1, clips_per_task=3)
    assert first["resumed_tasks"] == 0
    summary_rows = pq.read_table(ds_path / "annotations" / "summary.parquet").to_pylist()
    assert all(r["text"].startswith("brightness") for r in summary_rows)  # it read the other's rows
    again = annotate_dataset(ds_path, [MEAN, SUMMARY], workers=1, clips_per_task=3)
    assert again["resumed_tasks"] == again["tasks"]
    before = (ds_path / "annotations" / "summary.parquet").read_bytes()
    bumped = annotate_dataset(ds_path, [MEAN2], workers=1, clips_per_task=3)
    assert bumped["resumed_tasks"] == 0
    ds = open_dataset(ds_path)
    assert set(ds.annotation("meancolour").to_pandas().annotator_version) == {"2"}  # replaced, not doubled
    assert (ds_path / "annotations" / "summary.parquet").read_bytes() == before  # untouched
    # summary alone now reads the stored rows of the earlier run
    alone = annotate_dataset(ds_path, [SUMMARY], workers=1, clips_per_task=3)
    assert alone["resumed_tasks"] == alone["tasks"]


def test_a_failing_clip_is_recorded_and_the_run_goes_on(built, tmp_path):
    ds_path = copy_dataset(built, tmp_path)
    annotate_dataset(ds_path, [MEAN], {"meancolour": {"fail_every": 2}}, workers=1, clips_per_task=4)
    ds = open_dataset(ds_path)
    cov = ds.annotation("coverage").to_pandas()
    bad = cov[cov.status == "error"]
    assert len(bad) >= 2 and bad.message.str.contains("cannot do clip").all()
    got = set(ds.annotation("meancolour_clips").to_pandas().clip_id)
    assert got == set(cov[cov.status == "ok"].clip_id) and not got & set(bad.clip_id)


def test_collisions_missing_models_and_bad_settings_are_refused(built, tmp_path):
    ds_path = copy_dataset(built, tmp_path)
    with pytest.raises(AnnotationError, match="more than once"):
        annotate_dataset(ds_path, ["tests.fake_annotators:Colliding"], workers=1)
    assert not (ds_path / "annotations" / "colliding.parquet").exists()
    with pytest.raises(MissingModelError, match=r"annotate\.meancolour\.model"):
        annotate_dataset(ds_path, [MEAN], {"meancolour": {"model": str(tmp_path / "nope.onnx")}}, workers=1)
    with pytest.raises(UsageError, match="unknown setting"):
        annotate_dataset(ds_path, [MEAN], {"meancolour": {"modle": "x"}}, workers=1)
    with pytest.raises(UsageError, match="unknown annotator"):
        annotate_dataset(ds_path, ["no-such-thing"], workers=1)


def test_filter_joins_clip_level_annotation_tables(built, tmp_path):
    ds_path = copy_dataset(built, tmp_path)
    annotate_dataset(ds_path, [MEAN], workers=1)
    ds = open_dataset(ds_path)
    clips = ds.annotation("meancolour_clips").to_pandas()
    cut = float(clips.brightness.median())
    want = sorted(clips[clips.brightness > cut].clip_id)
    assert select_clip_ids(ds, f"meancolour_clips.brightness > {cut}") == want
    sub = select_clip_ids(ds, "clip_id IN (SELECT clip_id FROM meancolour WHERE r > 0)")
    assert sub == sorted(clips.clip_id)


def test_without_pictures_clips_are_refused_unless_decoding_is_allowed(tmp_path):
    write_video(tmp_path / "a.mp4", [with_figure(scene(2), i) for i in range(8)])
    build_dataset([str(tmp_path / "a.mp4")], tmp_path / "ds", BuildConfig.from_dict({"keyframes": {"enabled": False}}),
                  workers=1, media=False)
    annotate_dataset(tmp_path / "ds", [MEAN], workers=1)
    cov = open_dataset(tmp_path / "ds").annotation("coverage").to_pandas()
    assert (cov.status == "error").all() and cov.message.str.contains("--decode").all()
    (tmp_path / "ds" / "annotations").rename(tmp_path / "old")
    annotate_dataset(tmp_path / "ds", [MEAN], workers=1, allow_decode=True)
    cov = open_dataset(tmp_path / "ds").annotation("coverage").to_pandas()
    assert (cov.status == "ok").all()


def test_kill_9_then_resume_gives_the_uninterrupted_tables(built, tmp_path):
    ref = copy_dataset(built, tmp_path / "ref")
    annotate_dataset(ref, [MEAN], workers=2, clips_per_task=1)
    victim = copy_dataset(built, tmp_path / "victim")
    cmd = [sys.executable, "-m", "toonset", "annotate", str(victim), "--with", MEAN, "--workers", "2",
           "--clips-per-task", "1", "-q", "--config", str(tmp_path / "slow.toml")]
    (tmp_path / "slow.toml").write_text('[annotate.meancolour]\nsleep_s = 0.3\n')

    def markers() -> list[Path]:
        return list((victim / "annotations" / "_tasks").rglob("*.done")) if (victim / "annotations").exists() else []

    for _ in range(2):  # kill -9 the whole process group just after a task completes, twice
        seen = len(markers())
        p = subprocess.Popen(cmd, start_new_session=True, stderr=subprocess.DEVNULL, cwd=Path(__file__).parents[2])
        deadline = time.monotonic() + 120
        while len(markers()) <= seen and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.15)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    markers = markers()
    total = len(open_dataset(victim).df("clips"))
    assert 0 < len(markers) < total, f"the kills should land mid-run ({len(markers)} of {total} tasks done)"
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    for table in ("meancolour", "meancolour_clips"):
        a = pq.read_table(ref / "annotations" / f"{table}.parquet").drop_columns(["params"]).to_pandas()
        b = pq.read_table(victim / "annotations" / f"{table}.parquet").drop_columns(["params"]).to_pandas()
        keys = ["clip_id", "frame"] if "frame" in a else ["clip_id"]
        a, b = a.sort_values(keys).reset_index(drop=True), b.sort_values(keys).reset_index(drop=True)
        assert a.equals(b), table


def test_sakuga42m_export_takes_what_the_annotators_wrote(built, tmp_path):
    from toonset.store.export import export_dataset

    ds_path = copy_dataset(built, tmp_path)
    annotate_dataset(ds_path, ["tests.fake_annotators:FakeExportSources"], workers=1)
    export_dataset(ds_path, "sakuga42m", tmp_path / "s.parquet")
    rows = {r["clip_id"]: r for r in pq.read_table(tmp_path / "s.parquet").to_pylist()}
    clips = open_dataset(ds_path).df("clips")
    for clip in clips.itertuples():
        r = rows[clip.clip_id]
        assert r["text_prob"] == pytest.approx(clip.index / 10)
        assert r["anime_tags"] == "smoke fire"  # by score
        assert r["toonset_caption"] == f"caption {clip.index}"
        # a template caption is never passed off as a model caption
        assert r["text_description"] == (None if clip.index % 2 else f"caption {clip.index}")


def test_build_can_run_annotators(tmp_path):
    write_video(tmp_path / "a.mp4", [with_figure(scene(4), i // 2) for i in range(10)])
    (tmp_path / "cfg.toml").write_text("[media]\nmax_side = 320\n[annotate.meancolour]\nsleep_s = 0.0\n")
    done = subprocess.run([sys.executable, "-m", "toonset", "build", str(tmp_path / "a.mp4"), "-o",
                           str(tmp_path / "ds"), "--workers", "1", "-q", "--annotate", MEAN, "--config",
                           str(tmp_path / "cfg.toml"), "--json"], capture_output=True, text=True,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["annotate"]["tables"]["meancolour"] == summary["counts"]["keyframes"]


def test_a_filtered_subset_keeps_the_annotations_of_its_clips(built, tmp_path):
    from toonset.curate.filter import filter_dataset

    ds_path = copy_dataset(built, tmp_path)
    annotate_dataset(ds_path, [MEAN], workers=1)
    clips = open_dataset(ds_path).annotation("meancolour_clips").to_pandas()
    cut = float(clips.brightness.median())
    filter_dataset(ds_path, f"meancolour_clips.brightness > {cut}", tmp_path / "sub")
    sub = open_dataset(tmp_path / "sub")
    kept = set(sub.df("clips").clip_id)
    assert kept == set(clips[clips.brightness > cut].clip_id)
    assert set(sub.annotation("meancolour").to_pandas().clip_id) == kept
    assert sub.annotators["meancolour"]["version"] == "1"
    for cid in kept:  # the shard entries keep how the clip was stored
        assert sub.keyframe_frames(cid) == sorted(sub.df("keyframes").query("clip_id == @cid").frame)
        assert sub.clip_frames(cid).shape[0] == int(sub.df("clips").set_index("clip_id").num_frames[cid])


def test_retry_errors_redoes_only_the_tasks_with_failed_clips(built, tmp_path):
    ds_path = copy_dataset(built, tmp_path)
    settings = {"meancolour": {"fail_every": 2}}
    annotate_dataset(ds_path, [MEAN], settings, workers=1, clips_per_task=1)
    bad = (open_dataset(ds_path).annotation("coverage").to_pandas().status == "error").sum()
    assert bad > 0
    again = annotate_dataset(ds_path, [MEAN], settings, workers=1, clips_per_task=1, retry_errors=True)
    assert again["tasks"] - again["resumed_tasks"] == bad  # only the failed clips' tasks ran again
