"""The Ray executor on a local loopback instance: same dataset as the local executor, bounded retries and
timeouts for dying and hanging workers, and kill -9 of the driver 20 times resumes to the same dataset."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import cv2
import pytest
from tests.faulty import faulty_case, faulty_outcome
from tests.helpers import scene, with_figure, write_video
from tests.killing import assert_same_dataset, kill_cycles, run_build, snapshot
from tests.raycluster import CLIENT_ENV, loopback_cluster

from toonset.config import BuildConfig
from toonset.run import build_dataset

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="Ray is not installed (pip install 'toonset[ray]')")
REPO = Path(__file__).resolve().parents[2]
KILLS = 20


def _shot(seed: int, n: int, hold: int, size=(240, 144)) -> list:
    bg = cv2.resize(scene(seed), size, interpolation=cv2.INTER_NEAREST)
    return [with_figure(bg, i // hold) for i in range(n)]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("ray-in")
    write_video(d / "one.mp4", _shot(1, 24, 2) + _shot(2, 30, 3), fps=24, audio=True)
    write_video(d / "two.mp4", _shot(3, 40, 1), fps=30)
    for i in range(4):
        write_video(d / f"x{i}.mp4", _shot(10 + i, 20, 2) + _shot(20 + i, 20, 1))
    (d / "empty.mp4").write_bytes(b"")
    (d / "text.mp4").write_bytes(b"hello world" * 100)
    (d / "toonset.toml").write_text("[executor]\nsources_per_task = 1\n")
    return d


@pytest.fixture(scope="module")
def cluster():
    with loopback_cluster(cpus=2) as address:
        yield address


@pytest.fixture
def ray_client_env(monkeypatch):
    for k, v in CLIENT_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(REPO)  # Ray workers import tests.faulty from the driver's working directory


def test_ray_output_equals_local(inputs, tmp_path, ray_client_env):
    import ray

    cfg = BuildConfig()
    cfg.executor.sources_per_task = 2
    local = build_dataset([str(inputs)], tmp_path / "local", cfg, workers=2)
    nodes: list[str] = []

    def on_event(kind: str, data: dict) -> None:
        if not nodes:
            nodes.extend(n["NodeManagerAddress"] for n in ray.nodes())

    remote = build_dataset([str(inputs)], tmp_path / "ray", cfg, workers=2, executor="ray", on_event=on_event)
    assert not ray.is_initialized()  # the private instance was shut down
    assert nodes == ["127.0.0.1"]  # and it ran on loopback only
    assert remote["counts"] == local["counts"] and local["counts"]["clips"] >= 10
    assert_same_dataset(snapshot(tmp_path / "ray"), snapshot(tmp_path / "local"))
    assert json.loads((tmp_path / "ray" / "dataset.json").read_text())["executor"] == "ray"


def test_ray_crash_hang_and_flaky_workers(tmp_path, cluster, ray_client_env):
    from toonset.executors.ray_executor import RayExecutor

    cfg, out, tasks, spec = faulty_case(tmp_path)
    t0 = time.monotonic()
    summaries = RayExecutor(spec, address=cluster, retries=2, source_timeout_s=4, workers=2).run(tasks, out)
    assert time.monotonic() - t0 < 120
    assert sorted(s["task"] for s in summaries) == [t.task_id for t in tasks]
    errors = faulty_outcome(cfg, out, tasks)
    crash = errors[errors.error_type == "worker_crash"].iloc[0]
    assert crash.stage == "worker" and crash.attempt == 4  # crashed 1 + retries times; recorded on the next
    assert "died" in crash.message, crash.message


@pytest.mark.slow
def test_ray_driver_killed_twenty_times_resumes_to_the_same_dataset(inputs, tmp_path, cluster):
    args = ("--executor", "ray", "--address", cluster, "--workers", "2", "--config", str(inputs / "toonset.toml"))
    timing = run_build(inputs, tmp_path / "ref", *args, env=CLIENT_ENV)
    reference = snapshot(tmp_path / "ref")
    noop = run_build(inputs, tmp_path / "ref", *args, env=CLIENT_ENV).total_s
    out = tmp_path / "ds"
    log = kill_cycles(inputs, out, *args, kills=KILLS, reference=timing, noop_s=noop, tasks=8, workers=2,
                      env=CLIENT_ENV)
    assert log.kills == KILLS, log.cycles
    assert log.progressed >= 2, log.cycles
    run_build(inputs, out, *args, env=CLIENT_ENV)
    assert_same_dataset(snapshot(out), reference)
    assert reference["clips"].num_rows >= 10 and reference["errors"].num_rows == 2
