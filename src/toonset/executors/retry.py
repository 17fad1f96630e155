"""Bounded retries, shared by every executor: who failed, how often, and when a failure becomes data.

A worker that dies (a decoder segfault, an OOM kill) takes its task down with it. The executor knows which
source the worker was on (the ``source_start`` progress event) and asks the ledger what to do next:

* the task is always retried (it writes its outputs from scratch, so a retry never doubles anything);
* a source that has killed workers more than ``retries`` times is not decoded again: it ends as an error
  row (stage ``worker``), and its neighbours in the task are processed normally;
* a source that overran the per-video timeout ends as an error row at once (stage ``timeout``): a hang
  is not worth waiting for twice;
* a task that fails outside any source (its outputs could not be written) is retried ``retries`` times,
  then once more with every source as an error row; if even that fails the ledger gives the task up
  (``None``) so the executor finishes and the build reports the task as incomplete — never a loop.
"""

from __future__ import annotations

from toonset.errors import TimeoutError_, WorkerCrashError
from toonset.executors.tasks import Task, error_from_exception


class RetryLedger:
    """Per-run failure counts and the retry decision for each failed task."""

    def __init__(self, retries: int, timeout_s: float = 0.0) -> None:
        self.retries = max(0, retries)
        self.timeout_s = timeout_s
        self.crashes: dict[str, int] = {}  # source path -> failures while it was being processed

    def worker_died(self, task: Task, path: str, why: str) -> Task | None:
        """The worker running ``task`` died while on ``path`` ("" when between sources)."""
        return self.retry(task, path, WorkerCrashError(f"worker process died ({why}) while processing this source"))

    def timed_out(self, task: Task, path: str) -> Task | None:
        """The worker overran the per-video timeout on ``path`` and was stopped."""
        self.crashes[path] = self.retries  # the next count ends it: a hang is not retried
        exc = TimeoutError_(f"no result after {self.timeout_s:g} s; the worker was stopped")
        return self.retry(task, path, exc)

    def task_failed(self, task: Task, error: str) -> Task | None:
        """``run_task`` raised outside the per-source guard (e.g. writing the outputs failed)."""
        return self.retry(task, "", RuntimeError(f"task failed: {error}"))

    def retry(self, task: Task, path: str, exc: Exception) -> Task | None:
        """The task to run again (with more preset errors), or ``None`` to give it up."""
        task.attempt += 1
        if path:
            self.crashes[path] = self.crashes.get(path, 0) + 1
            if self.crashes[path] > self.retries:
                ref = next(r for r in task.refs if r.path == path)
                stage = "timeout" if isinstance(exc, TimeoutError_) else "worker"
                task.preset_errors[path] = error_from_exception(ref, stage, exc, task.attempt)
            return task
        if task.attempt > self.retries + 2 and all(r.path in task.preset_errors for r in task.refs):
            return None  # even a task made only of error rows cannot be written: give up
        if task.attempt > self.retries + 1:
            for ref in task.refs:
                task.preset_errors.setdefault(ref.path, error_from_exception(ref, "task", exc, task.attempt))
        return task
