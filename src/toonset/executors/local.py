"""Local executors: ``InlineExecutor`` (one process, for debugging) and ``LocalExecutor`` (the default).

``LocalExecutor`` keeps N worker processes fed from a queue of tasks. It watches them: a worker that dies
(a decoder segfault, an OOM kill) or overruns the per-video timeout is replaced, and its task retried a
bounded number of times; the source that keeps killing workers ends as an error row instead of a loop.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from toonset.executors.processes import worker_context
from toonset.executors.retry import RetryLedger
from toonset.executors.tasks import Task, run_task
from toonset.pipeline.build import PipelineSpec
from toonset.store.tables import skip_pandas_probe

Event = Callable[[str, dict[str, Any]], None]


class InlineExecutor:
    """Run tasks one after another in this process (no crash isolation; easiest to debug)."""

    name = "inline"

    def __init__(self, spec: PipelineSpec) -> None:
        self.spec = spec

    def run(self, tasks: Sequence[Task], out: Path, on_event: Event | None = None) -> list[dict[str, Any]]:
        stages = self.spec.stages()
        for s in stages:
            s.setup()
        results = []
        try:
            for task in tasks:
                summary = run_task(task, stages, out, self.spec.media, on_event)
                results.append(summary)
                if on_event:
                    on_event("task_done", summary)
        finally:
            for s in stages:
                s.teardown()
        return results


def _worker_main(wid: int, spec: PipelineSpec, out: str, conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    skip_pandas_probe()
    stages = spec.stages()
    for s in stages:
        s.setup()

    def progress(kind: str, data: dict[str, Any]) -> None:
        conn.send((kind, data))

    try:
        while True:
            task = conn.recv()
            if task is None:
                break
            progress("task_start", {"task": task.task_id})
            try:
                summary = run_task(task, stages, Path(out), spec.media, progress)
                conn.send(("task_done", summary))
            except Exception as exc:  # writing outputs failed: report, let the parent retry
                conn.send(("task_failed", {"task": task.task_id, "error": repr(exc)}))
    except (EOFError, BrokenPipeError):  # the parent went away
        pass
    finally:
        for s in stages:
            s.teardown()
    # every output is written (atomically) and reported: skip the interpreter's teardown of numpy, PyAV,
    # OpenCV and pyarrow (~0.1 s a worker, which the parent would wait for at the end of every build)
    conn.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class _Worker:
    def __init__(self, wid: int, proc: mp.Process, conn: Connection) -> None:
        self.wid = wid
        self.proc = proc
        self.conn = conn
        self.task: Task | None = None
        self.path = ""
        self.since = 0.0


class LocalExecutor:
    """Multi-process executor with crash recovery and per-video timeouts.

    Each worker has its own pipe, so a worker killed at any instant (even mid-message) cannot block the
    others, and the parent always knows which task and which source a worker was on.
    """

    name = "local"

    def __init__(self, spec: PipelineSpec, workers: int, retries: int = 2, source_timeout_s: float = 0.0) -> None:
        self.spec = spec
        self.workers = max(1, workers)
        self.retries = max(0, retries)
        self.timeout = source_timeout_s
        self.ctx = worker_context()
        self._next_wid = 0

    def _start(self, out: Path) -> _Worker:
        parent, child = self.ctx.Pipe()
        wid = self._next_wid
        self._next_wid += 1
        p = self.ctx.Process(target=_worker_main, args=(wid, self.spec, str(out), child), daemon=True,
                             name=f"toonset-worker-{wid}")
        p.start()
        child.close()
        return _Worker(wid, p, parent)

    def run(self, tasks: Sequence[Task], out: Path, on_event: Event | None = None) -> list[dict[str, Any]]:
        if not tasks:
            return []
        todo: deque[Task] = deque(tasks)
        pending = {t.task_id for t in tasks}
        self._ledger = RetryLedger(self.retries, self.timeout)
        workers = [self._start(out) for _ in range(min(self.workers, len(tasks)))]
        results: list[dict[str, Any]] = []
        try:
            while pending:
                for w in workers:
                    if w.task is None and todo:
                        w.task, w.path, w.since = todo.popleft(), "", time.monotonic()
                        w.conn.send(w.task)
                ready = wait([w.conn for w in workers] + [w.proc.sentinel for w in workers], timeout=0.2)
                for w in list(workers):
                    if w.conn in ready:
                        try:
                            while w.conn.poll():
                                kind, data = w.conn.recv()
                                self._handle(w, kind, data, pending, results, todo, on_event)
                        except (EOFError, OSError):
                            pass  # the worker died; its sentinel tells us below
                    timed_out = bool(self.timeout and w.path and time.monotonic() - w.since > self.timeout)
                    if w.proc.is_alive() and not timed_out:
                        continue
                    if timed_out:
                        w.proc.kill()
                    w.proc.join(2)
                    workers.remove(w)
                    if w.task is not None and w.task.task_id in pending:
                        again = self._failed(w, timed_out)
                        if again is None:
                            pending.discard(w.task.task_id)
                        else:
                            todo.appendleft(again)
                    if pending:
                        workers.append(self._start(out))
        finally:
            for w in workers:
                try:
                    w.conn.send(None)
                except (OSError, ValueError):
                    pass
            deadline = time.monotonic() + 5
            for w in workers:
                w.proc.join(timeout=max(0.1, deadline - time.monotonic()))
                if w.proc.is_alive():
                    w.proc.kill()
                    w.proc.join(1)
                w.conn.close()
        return results

    def _handle(self, w: _Worker, kind: str, data: dict[str, Any], pending: set[str],
                results: list[dict[str, Any]], todo: deque[Task], on_event: Event | None) -> None:
        if kind == "source_start":
            w.path, w.since = data["path"], time.monotonic()
        elif kind == "source_done":
            w.path = ""
        elif kind == "task_done":
            w.task, w.path = None, ""
            if data["task"] in pending:
                pending.discard(data["task"])
                results.append(data)
        elif kind == "task_failed":
            task, w.task, w.path = w.task, None, ""
            if task is not None:
                again = self._ledger.task_failed(task, data["error"])
                if again is None:
                    pending.discard(task.task_id)
                else:
                    todo.append(again)
        if on_event and kind in ("source_done", "task_done"):
            on_event(kind, data)

    def _failed(self, w: _Worker, timed_out: bool) -> Task | None:
        assert w.task is not None
        if timed_out:
            return self._ledger.timed_out(w.task, w.path)
        code = w.proc.exitcode
        why = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit code {code}"
        return self._ledger.worker_died(w.task, w.path, why)


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1
