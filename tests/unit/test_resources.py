"""Stage resources become scheduler requests: the max over stages, GPUs as num_gpus, others as custom."""

from __future__ import annotations

from toonset.config import BuildConfig
from toonset.executors.resources import pool_size, ray_options, worker_needs
from toonset.pipeline.analyze_stage import AnalyzeStage
from toonset.pipeline.stage import Resources, Stage


class _Heavy(Stage):
    name = "heavy"
    resources = Resources(cpus=2.0, memory_mb=6000, accelerator="GPU", accelerators=0.5)

    def process(self, item):
        return item


class _Npu(Stage):
    name = "npu"
    resources = Resources(cpus=0.5, memory_mb=100, accelerator="NPU", accelerators=1)

    def process(self, item):
        return item


def test_the_analyze_stage_alone_asks_for_one_cpu_and_its_memory():
    needs = worker_needs([AnalyzeStage(BuildConfig())])
    assert ray_options(needs) == {"num_cpus": 1.0, "memory": 1024 * 1024 * 1024}


def test_a_heavy_annotator_raises_the_request_of_every_worker():
    needs = worker_needs([AnalyzeStage(BuildConfig()), _Heavy(), _Npu()])
    opts = ray_options(needs)
    assert opts == {"num_cpus": 2.0, "memory": 6000 * 1024 * 1024, "num_gpus": 0.5, "resources": {"NPU": 1}}


def test_pool_size_fits_the_scarcest_resource():
    needs = worker_needs([_Heavy()])
    cluster = {"CPU": 32.0, "memory": 64e9, "GPU": 2.0}
    assert pool_size(needs, cluster, tasks=100) == 4  # 2 GPUs / 0.5
    assert pool_size(needs, cluster, tasks=3) == 3
    assert pool_size(needs, {"CPU": 1.0}, tasks=10) == 1  # never zero: Ray queues it until a node fits


def test_the_ray_executor_without_ray_names_the_extra(monkeypatch):
    import sys

    import pytest

    from toonset.errors import UsageError
    from toonset.executors.ray_executor import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(UsageError, match=r"toonset\[ray\]"):
        import_ray()


def test_the_analyze_stage_gives_opencv_its_thread_share_and_gives_it_back():
    import cv2

    before = cv2.getNumThreads()
    stage = AnalyzeStage(BuildConfig(), media=False, threads=1)
    stage.setup()
    try:
        assert cv2.getNumThreads() == 1  # one worker per CPU: OpenCV must not spread small images over threads
    finally:
        stage.teardown()
    assert cv2.getNumThreads() == before  # an inline build leaves the caller's process as it found it
    auto = AnalyzeStage(BuildConfig(), media=False, threads=0)
    auto.setup()
    assert cv2.getNumThreads() == before  # no budget given: OpenCV's own default stays
    auto.teardown()
