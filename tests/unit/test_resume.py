"""Kill -9 a build at random points; the resumed build equals an uninterrupted one, nothing lost or doubled."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import cv2
import pyarrow.parquet as pq
import pytest
from tests.helpers import scene, with_figure, write_video

TABLES = ("sources", "clips", "keyframes", "errors", "filtered")


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("resume-in")
    for v in range(8):
        frames = []
        for shot in range(3):
            bg = cv2.resize(scene(v * 10 + shot), (480, 288), interpolation=cv2.INTER_NEAREST)
            frames += [with_figure(bg, i // 2) for i in range(40)]
        write_video(d / f"v{v}.mp4", frames)
    (d / "broken.mp4").write_bytes(b"\x00" * 1000)
    (d / "toonset.toml").write_text("[executor]\nsources_per_task = 1\n")
    return d


def _build(videos: Path, out: Path, workers: int = 2) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "toonset", "build", str(videos), "-o", str(out), "--workers", str(workers),
         "--config", str(videos / "toonset.toml"), "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )


def _snapshot(out: Path) -> dict:
    snap = {name: pq.read_table(out / f"{name}.parquet") for name in TABLES}
    shards = {}
    for shard in sorted((out / "shards").glob("*.tar")):
        with tarfile.open(shard) as tar:
            shards[shard.name] = [(m.name, hashlib.sha256(tar.extractfile(m).read()).hexdigest())
                                  for m in tar if m.isfile()]
    snap["shards"] = shards
    return snap


@pytest.fixture(scope="module")
def reference(videos, tmp_path_factory) -> tuple[dict, float]:
    out = tmp_path_factory.mktemp("ref") / "ds"
    t0 = time.monotonic()
    p = _build(videos, out)
    assert p.wait(300) == 0, p.stderr.read().decode()
    return _snapshot(out), time.monotonic() - t0


def test_killed_builds_resume_to_the_same_dataset(videos, reference, tmp_path):
    reference, seconds = reference
    rng = random.Random(1234)
    out = tmp_path / "ds"
    kills = 0
    for _ in range(12):
        p = _build(videos, out)
        time.sleep(rng.uniform(0.1, 0.45) * seconds)
        if p.poll() is not None:
            break
        os.killpg(p.pid, signal.SIGKILL)  # the CLI and its workers, like kill -9 of the whole job
        p.wait(30)
        kills += 1
    assert kills >= 2
    p = _build(videos, out)
    assert p.wait(300) == 0, p.stderr.read().decode()
    got = _snapshot(out)
    for name in TABLES:
        assert got[name].equals(reference[name]), name
    assert got["shards"] == reference["shards"]
    clip_ids = got["clips"].column("clip_id").to_pylist()
    assert len(clip_ids) == len(set(clip_ids)) == 24
    leftovers = [p.name for p in (out / "_tasks").iterdir() if p.name.startswith(".")]
    assert leftovers == []
