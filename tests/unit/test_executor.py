"""Dying workers are retried a bounded number of times; hangs time out; the run always completes."""

from __future__ import annotations

import os
import time

from tests.faulty import faulty_case, faulty_outcome

from toonset.executors.local import LocalExecutor


def test_crash_hang_and_flaky_workers(tmp_path):
    cfg, out, tasks, spec = faulty_case(tmp_path)
    t0 = time.monotonic()
    LocalExecutor(spec, workers=2, retries=2, source_timeout_s=4).run(tasks, out)
    assert time.monotonic() - t0 < 90
    errors = faulty_outcome(cfg, out, tasks)
    assert "SIGSEGV" in errors[errors.error_type == "worker_crash"].message.iloc[0]


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
