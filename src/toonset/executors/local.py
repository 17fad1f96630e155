"""Local executors: ``InlineExecutor`` (one process, for debugging) and ``LocalExecutor`` (the default).

``LocalExecutor`` keeps N worker processes fed from a queue of tasks. It watches them: a worker that dies
(a decoder segfault, an OOM kill) or overruns the per-video timeout is replaced, and its task retried a
bounded number of times; the source that keeps killing workers ends as an error row instead of a loop.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from toonset.errors import TimeoutError_, WorkerCrashError
from toonset.executors.tasks import Task, error_from_exception, run_task
from toonset.pipeline.build import PipelineSpec

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


def _worker_main(wid: int, spec: PipelineSpec, out: str, tasks: mp.Queue, events: mp.Queue) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    stages = spec.stages()
    for s in stages:
        s.setup()

    def progress(kind: str, data: dict[str, Any]) -> None:
        events.put((kind, wid, data))

    while True:
        task = tasks.get()
        if task is None:
            break
        progress("task_start", {"task": task.task_id})
        try:
            summary = run_task(task, stages, Path(out), spec.media, progress)
            events.put(("task_done", wid, summary))
        except Exception as exc:  # writing outputs failed: report, let the parent retry
            events.put(("task_failed", wid, {"task": task.task_id, "error": repr(exc)}))
    for s in stages:
        s.teardown()


class LocalExecutor:
    """Multi-process executor with crash recovery and per-video timeouts."""

    name = "local"

    def __init__(self, spec: PipelineSpec, workers: int, retries: int = 2, source_timeout_s: float = 0.0) -> None:
        self.spec = spec
        self.workers = max(1, workers)
        self.retries = max(0, retries)
        self.timeout = source_timeout_s
        self.ctx = mp.get_context("spawn")

    def run(self, tasks: Sequence[Task], out: Path, on_event: Event | None = None) -> list[dict[str, Any]]:
        if not tasks:
            return []
        task_q: mp.Queue = self.ctx.Queue()
        events: mp.Queue = self.ctx.Queue()
        pending = {t.task_id: t for t in tasks}
        for t in tasks:
            task_q.put(t)
        crashes: dict[str, int] = {}  # source path -> worker deaths while on it
        procs: dict[int, mp.Process] = {}
        current: dict[int, dict[str, Any]] = {}  # worker -> {"task", "path", "since"}
        results: list[dict[str, Any]] = []
        next_wid = 0

        def start_worker() -> None:
            nonlocal next_wid
            p = self.ctx.Process(target=_worker_main, args=(next_wid, self.spec, str(out), task_q, events),
                                 daemon=True, name=f"toonset-worker-{next_wid}")
            p.start()
            procs[next_wid] = p
            next_wid += 1

        for _ in range(min(self.workers, len(tasks))):
            start_worker()
        try:
            while pending:
                try:
                    kind, wid, data = events.get(timeout=0.2)
                except queue.Empty:
                    kind = ""
                if kind == "task_start":
                    current[wid] = {"task": data["task"], "path": "", "since": time.monotonic()}
                elif kind == "source_start":
                    current[wid] = {"task": data["task"], "path": data["path"], "since": time.monotonic()}
                elif kind == "task_done":
                    current.pop(wid, None)
                    if pending.pop(data["task"], None) is not None:
                        results.append(data)
                elif kind == "task_failed":
                    current.pop(wid, None)
                    self._retry(pending.get(data["task"]), "", task_q, crashes,
                                RuntimeError(f"task failed: {data['error']}"))
                if on_event and kind in ("source_done", "task_done"):
                    on_event(kind, data)
                self._watch(procs, current, pending, task_q, crashes, start_worker)
        finally:
            for _ in procs:
                task_q.put(None)
            deadline = time.monotonic() + 5
            for p in procs.values():
                p.join(timeout=max(0.1, deadline - time.monotonic()))
                if p.is_alive():
                    p.kill()
                    p.join(1)
        return results

    def _watch(self, procs, current, pending, task_q, crashes, start_worker) -> None:
        now = time.monotonic()
        for wid, p in list(procs.items()):
            info = current.get(wid)
            timed_out = bool(self.timeout and info and info["path"] and now - info["since"] > self.timeout)
            if p.is_alive() and not timed_out:
                continue
            if timed_out:
                p.kill()
                p.join(2)
            else:
                p.join(0.1)
            del procs[wid]
            current.pop(wid, None)
            if info and info["task"] in pending:
                task = pending[info["task"]]
                if timed_out:
                    exc: Exception = TimeoutError_(f"no result after {self.timeout:.0f} s; the worker was stopped")
                    crashes[info["path"]] = self.retries + 1  # a hang is not retried
                else:
                    code = p.exitcode
                    why = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit code {code}"
                    exc = WorkerCrashError(f"worker process died ({why}) while processing this source")
                self._retry(task, info["path"], task_q, crashes, exc)
            if pending:
                start_worker()

    def _retry(self, task: Task | None, path: str, task_q, crashes, exc: Exception) -> None:
        if task is None:
            return
        task.attempt += 1
        if path:
            crashes[path] = crashes.get(path, 0) + 1
            if crashes[path] > self.retries:
                ref = next(r for r in task.refs if r.path == path)
                stage = "timeout" if isinstance(exc, TimeoutError_) else "worker"
                task.preset_errors[path] = error_from_exception(ref, stage, exc, task.attempt)
        elif task.attempt > self.retries + 1:
            for ref in task.refs:
                task.preset_errors.setdefault(ref.path, error_from_exception(ref, "task", exc, task.attempt))
        task_q.put(task)


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1
