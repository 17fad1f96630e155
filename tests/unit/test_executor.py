"""Dying workers are retried a bounded number of times; hangs time out; the run always completes."""

from __future__ import annotations

import os
import time

import pyarrow.parquet as pq
from tests.faulty import FaultySpec
from tests.helpers import scene, with_figure, write_video

from toonset.config import BuildConfig
from toonset.executors.local import LocalExecutor
from toonset.executors.tasks import is_done, make_plan
from toonset.ingest.local import expand_inputs
from toonset.store.dataset import finalize


def test_crash_hang_and_flaky_workers(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    frames = [with_figure(scene(1), i // 2) for i in range(12)]
    for name in ("good.mp4", "crash.mp4", "hang.mp4", "flaky.mp4", "zgood.mp4"):
        write_video(src / name, frames)
    cfg = BuildConfig()
    cfg.executor.sources_per_task = 2
    out = tmp_path / "ds"
    refs = expand_inputs([str(src)])
    tasks = make_plan(out, refs, cfg.to_dict(), cfg.executor.sources_per_task, media=False)
    spec = FaultySpec(cfg.to_dict(), media=False, threads=1)
    t0 = time.monotonic()
    LocalExecutor(spec, workers=2, retries=2, source_timeout_s=4).run(tasks, out)
    assert time.monotonic() - t0 < 90
    assert all(is_done(out, t) for t in tasks)
    finalize(out, cfg.to_dict())
    errors = pq.read_table(out / "errors.parquet").to_pandas()
    sources = pq.read_table(out / "sources.parquet").to_pandas()
    err = dict(zip(errors.path.str.rsplit("/", n=1).str[-1], errors.error_type))
    assert err == {"crash.mp4": "worker_crash", "hang.mp4": "timeout"}
    assert "SIGSEGV" in errors[errors.error_type == "worker_crash"].message.iloc[0]
    ok = sorted(sources.path.str.rsplit("/", n=1).str[-1])
    assert ok == ["flaky.mp4", "good.mp4", "zgood.mp4"]  # flaky succeeded on retry; neighbours not lost


def test_tasks_run_largest_first_without_opening_anything(tmp_path):
    from toonset.executors.tasks import Task, input_bytes, largest_first
    from toonset.ingest.local import SourceRef

    (tmp_path / "small.mp4").write_bytes(b"x" * 10)
    (tmp_path / "big.mp4").write_bytes(b"x" * 1000)
    (tmp_path / "mid.mp4").write_bytes(b"x" * 100)
    os.mkfifo(tmp_path / "pipe.mp4")  # a named pipe is stat'ed, never opened (would block)
    (tmp_path / "loop.mp4").symlink_to(tmp_path / "loop.mp4")
    tasks = [Task(0, [SourceRef(str(tmp_path / "small.mp4")), SourceRef(str(tmp_path / "pipe.mp4"))]),
             Task(1, [SourceRef(str(tmp_path / "big.mp4"))]),
             Task(2, [SourceRef(str(tmp_path / "loop.mp4"))]),
             Task(3, [SourceRef(str(tmp_path / "mid.mp4")), SourceRef(str(tmp_path / "small.mp4"))])]
    assert [input_bytes(t) for t in tasks] == [10, 1000, 0, 110]
    assert [t.index for t in largest_first(tasks)] == [1, 3, 0, 2]
    assert [t.index for t in tasks] == [0, 1, 2, 3]  # the plan itself is untouched
