"""Dying workers are retried a bounded number of times; hangs time out; the run always completes."""

from __future__ import annotations

import os
import time

import pytest
from tests.faulty import faulty_case, faulty_outcome

from toonset.executors.local import LocalExecutor


@pytest.mark.parametrize("method", ["default", "spawn"])
def test_crash_hang_and_flaky_workers(tmp_path, monkeypatch, method):
    if method != "default":  # the default forks workers from a fork server; spawn is the portable fallback
        monkeypatch.setenv("TOONSET_START_METHOD", method)
    cfg, out, tasks, spec = faulty_case(tmp_path)
    t0 = time.monotonic()
    LocalExecutor(spec, workers=2, retries=2, source_timeout_s=4).run(tasks, out)
    assert time.monotonic() - t0 < 90
    errors = faulty_outcome(cfg, out, tasks)
    assert "SIGSEGV" in errors[errors.error_type == "worker_crash"].message.iloc[0]


def test_tasks_run_largest_first_without_opening_pipes(tmp_path):
    from toonset.executors.tasks import COST_PER_BYTE_UNKNOWN_S, Task, largest_first, source_cost
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
    # no header to read in these files: estimated from their size; the pipe and the symlink loop cost 0
    costs = [sum(source_cost(r) for r in t.refs) for t in tasks]
    assert costs == pytest.approx([n * COST_PER_BYTE_UNKNOWN_S for n in (10, 1000, 0, 110)])
    assert [t.index for t in largest_first(tasks)] == [1, 3, 0, 2]
    assert [t.index for t in tasks] == [0, 1, 2, 3]  # the plan itself is untouched


def test_start_method_choice(monkeypatch):
    import multiprocessing as mp

    from toonset.errors import UsageError
    from toonset.executors.processes import WORKER_MODULES, start_method, worker_context

    monkeypatch.delenv("TOONSET_START_METHOD", raising=False)
    expected = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    assert start_method() == expected
    assert worker_context().get_start_method() == expected
    monkeypatch.setenv("TOONSET_START_METHOD", "Spawn")
    assert start_method() == "spawn"
    monkeypatch.setenv("TOONSET_START_METHOD", "teleport")
    with pytest.raises(UsageError, match="teleport"):
        start_method()
    for name in WORKER_MODULES:  # what the fork server preloads must exist
        __import__(name)


def test_killed_build_leaves_no_fork_server_folder(tmp_path):
    """``kill -9`` of the coordinating process: the fork server exits and removes its socket folder (Python
    leaves that to the parent's normal exit, which a killed build never reaches)."""
    import signal

    from tests.helpers import scene, with_figure, write_video
    from tests.killing import start_build

    from toonset.executors.processes import start_method

    if start_method() != "forkserver":
        pytest.skip("workers are not forked from a fork server on this platform")
    src = tmp_path / "in"
    src.mkdir()
    for i in range(6):
        write_video(src / f"v{i}.mp4", [with_figure(scene(i, 320, 192), k // 2) for k in range(240)])
    temp = tmp_path / "temp"
    temp.mkdir()
    proc = start_build(src, tmp_path / "ds", "--workers", "2", env={**os.environ, "TMPDIR": str(temp)})
    deadline = time.monotonic() + 30
    while not list(temp.glob("pymp-*")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert list(temp.glob("pymp-*")), "the fork server's socket folder never appeared"
    time.sleep(0.5)  # workers running
    os.kill(proc.pid, signal.SIGKILL)  # the coordinating process only, not its group
    proc.wait()
    deadline = time.monotonic() + 30
    while list(temp.glob("pymp-*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not list(temp.glob("pymp-*"))
