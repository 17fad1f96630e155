"""dedup / split / filter / export on a small built dataset of look-alikes and their copies."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tarfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from toonset import open_dataset
from toonset.cli import main
from toonset.config import BuildConfig
from toonset.curate.dedup import dedup_dataset
from toonset.curate.filter import filter_dataset
from toonset.curate.split import bucket, check_splits, plan_splits, split_dataset
from toonset.errors import UsageError
from toonset.run import build_dataset
from toonset.store.export import SAKUGA42M, export_dataset, timestamp
from toonset.synth.lookalike import write_lookalike_set


@pytest.fixture(scope="module")
def lookalike(tmp_path_factory):
    """2 families x 3 members (same background and character, different drawings) + 4 copies of 2 members."""
    root = tmp_path_factory.mktemp("lookalike")
    made = write_lookalike_set(root / "videos", families=2, members=3, copies_of=1)
    cfg = BuildConfig()
    cfg.executor.sources_per_task = 4
    build_dataset([str(root / "videos")], root / "ds", cfg, workers=2)
    truth = {c.path.name: c.animation for c in made}
    return root / "ds", truth


@pytest.fixture()
def dataset(lookalike, tmp_path):
    """A fresh copy of the built dataset for tests that change it."""
    src, truth = lookalike
    dst = tmp_path / "ds"
    shutil.copytree(src, dst)
    return dst, truth


def _animation(ds, truth):
    paths = dict(zip(ds.sources["source_id"].to_pylist(), ds.sources["path"].to_pylist()))
    return {cid: truth[Path(paths[sid]).name]
            for cid, sid in zip(ds.clips["clip_id"].to_pylist(), ds.clips["source_id"].to_pylist())}


def test_build_stores_fingerprints(lookalike):
    ds = open_dataset(lookalike[0])
    assert ds.keyframes.schema.field("phash").type == "uint64"
    phash = ds.keyframes["phash"].to_pylist()
    assert len(phash) > 0 and sum(1 for h in phash if h) / len(phash) > 0.95
    hashes = ds.clips["content_hash"].to_pylist()
    assert all(len(h) == 32 for h in hashes)
    assert len(set(hashes)) == len(hashes) - 2  # each re-mux decodes to the same pictures as its original


def test_dedup_finds_every_copy_and_no_lookalike(dataset):
    path, truth = dataset
    summary = dedup_dataset(path)
    ds = open_dataset(path)
    anim = _animation(ds, truth)
    dup_of = dict(zip(ds.clips["clip_id"].to_pylist(), ds.clips["duplicate_of"].to_pylist()))
    root = {cid: dup_of[cid] or cid for cid in dup_of}
    for a, b in itertools.combinations(anim, 2):
        same_group = root[a] == root[b]
        assert same_group == (anim[a] == anim[b]), (anim[a], anim[b])
    originals = [cid for cid, o in dup_of.items() if o is None]
    assert len(originals) == 6 and summary["duplicates"] == 8
    assert summary["exact_pairs"] == 2  # the re-muxes
    # the original is the largest picture: never the half-size copy
    paths = dict(zip(ds.sources["source_id"].to_pylist(), ds.sources["path"].to_pylist()))
    src_of = dict(zip(ds.clips["clip_id"].to_pylist(), ds.clips["source_id"].to_pylist()))
    assert not any(paths[src_of[o]].endswith(("-small.mp4", "-pulldown.mp4")) for o in originals)
    pairs = pq.read_table(path / "duplicates.parquet")
    assert set(pairs["kind"].to_pylist()) == {"exact", "near"}
    assert json.loads((path / "dataset.json").read_text())["curation"]["dedup"]["duplicates"] == 8


def test_split_is_deterministic_and_leak_free(dataset):
    path, _ = dataset
    dedup_dataset(path)
    first = split_dataset(path, "source", (0.4, 0.3, 0.3))
    splits = open_dataset(path).clips["split"].to_pylist()
    again = split_dataset(path, "source", (0.4, 0.3, 0.3))
    assert open_dataset(path).clips["split"].to_pylist() == splits and first == again
    report = check_splits(path)
    assert report["ok"], report["violations"]
    ds = open_dataset(path)
    split_of = dict(zip(ds.clips["clip_id"].to_pylist(), ds.clips["split"].to_pylist()))
    for cid, orig in zip(ds.clips["clip_id"].to_pylist(), ds.clips["duplicate_of"].to_pylist()):
        if orig:
            assert split_of[cid] == split_of[orig]
    # break it on purpose: --check must find the leak and exit 1
    clips = pq.read_table(path / "clips.parquet").to_pandas()
    victim = clips.index[clips.duplicate_of.notna()][0]
    clips.loc[victim, "split"] = "test" if clips.loc[victim, "split"] != "test" else "train"
    clips.to_parquet(path / "clips.parquet", index=False)
    report = check_splits(path)
    assert not report["ok"] and any("crosses splits" in v or "its source" in v for v in report["violations"])
    assert main(["split", str(path), "--check"]) == 1


def test_split_by_series_unions_copyright_tags():
    sources = [
        {"source_id": "a", "sha256": "1", "series": "doraemon", "copyright": "doraemon doraemon_(2005)"},
        {"source_id": "b", "sha256": "2", "series": "doraemon_(2005)", "copyright": "doraemon_(2005)"},
        {"source_id": "c", "sha256": "3", "series": "", "copyright": ""},
        {"source_id": "d", "sha256": "3", "series": "", "copyright": ""},  # same file as c
    ]
    clips = [{"clip_id": f"{s['source_id']}-0", "source_id": s["source_id"]} for s in sources]
    for seed in ("", "1", "2", "3", "4"):
        plan = plan_splits(sources, clips, [], by="series", ratios=(0.34, 0.33, 0.33), seed=seed)
        assert plan.source_split["a"] == plan.source_split["b"]
        assert plan.source_split["c"] == plan.source_split["d"]
        assert plan.components == 2
    assert bucket("x", (1.0, 0.0, 0.0)) == "train" and bucket("x", (0.0, 0.0, 1.0)) == "test"


def test_filter_writes_a_valid_subset(dataset, tmp_path):
    path, _truth = dataset
    dedup_dataset(path)
    out = tmp_path / "subset"
    summary = filter_dataset(path, "duplicate_of IS NULL AND sources.width >= 320", out)
    sub = open_dataset(out)
    assert summary["clips"] == 6 and sub.clips.num_rows == 6
    assert set(sub.clips["duplicate_of"].to_pylist()) == {None}
    assert set(sub.keyframes["clip_id"].to_pylist()) <= set(sub.clips["clip_id"].to_pylist())
    assert sub.meta["parent"]["where"].startswith("duplicate_of IS NULL")
    assert sub.filtered.num_rows == 8 and set(sub.filtered["stage"].to_pylist()) == {"filter"}
    keys = set()
    for shard in sub.shards:
        with tarfile.open(shard) as tar:
            keys |= {m.name.split(".")[0] for m in tar if m.name.endswith(".mp4")}
    assert keys == set(sub.clips["clip_id"].to_pylist())
    assert not list(tmp_path.glob(".subset.partial-*"))
    with pytest.raises(UsageError, match="where"):
        filter_dataset(path, "no_such_column > 1", tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
    assert main(["filter", str(path), "--where", "1 = 1", "-o", str(out)]) == 2  # exists, no --overwrite


def test_exports(dataset, tmp_path):
    path, _ = dataset
    dedup_dataset(path)
    split_dataset(path, "source", (0.5, 0.5, 0.0))
    s42 = tmp_path / "s42.parquet"
    export_dataset(path, "sakuga42m", s42)
    table = pq.read_table(s42)
    assert table.schema.names[: len(SAKUGA42M)] == SAKUGA42M.names
    assert [f.type for f in table.schema][: len(SAKUGA42M)] == list(SAKUGA42M.types)
    for r in table.to_pylist():  # the probed rate: the pulldown copies are 30000/1001, the rest 24
        assert r["fps"] == pytest.approx(30000 / 1001 if "-pulldown" in r["source_path"] else 24.0)
    row = table.slice(0, 1).to_pylist()[0]
    assert row["anime_tags"] is None and row["text_description"] is None and row["key_frame_number"] > 0
    assert row["frame_number"] == row["end_frame"] - row["start_frame"]
    assert row["scene_start_time"] == timestamp(row["start_time"])
    wds_dir = tmp_path / "wds"
    info = export_dataset(path, "webdataset", wds_dir, shard_size=3)
    assert all(n.split("-")[0] in ("train", "val") for n in info["shards"])
    import webdataset

    samples = list(webdataset.WebDataset([str(p) for p in sorted(wds_dir.glob("*.tar"))], shardshuffle=False))
    assert len(samples) == open_dataset(path).clips.num_rows
    assert samples[0]["mp4"][4:8] == b"ftyp" and json.loads(samples[0]["json"])["clip_id"] == samples[0]["__key__"]


def test_hf_export_loads_with_datasets(dataset, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets", reason="the 'hf' extra (datasets) is not installed")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    path, _ = dataset
    split_dataset(path, "source", (0.5, 0.5, 0.0))
    export_dataset(path, "hf", tmp_path / "hf")
    loaded = datasets.load_dataset(str(tmp_path / "hf"), cache_dir=str(tmp_path / "hf-cache"))
    assert set(loaded) <= {"train", "validation"} and sum(len(v) for v in loaded.values()) == 14
    first = next(iter(loaded.values()))[0]
    assert first["mp4"][4:8] == b"ftyp" and isinstance(first["keyframes"], list)
    assert round(first["fps"], 2) in (24.0, 29.97) and first["num_frames"] >= 20


def test_cli_usage_errors_exit_2(lookalike, tmp_path, capsys):
    path = str(lookalike[0])
    assert main(["split", path, "--ratios", "0.9,0.2,0.1"]) == 2
    assert main(["export", path, "--format", "sakuga42m", "-o", str(tmp_path)]) == 2
    assert main(["dedup", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("toonset: error:") for line in err)
    assert os.listdir(tmp_path) == []
