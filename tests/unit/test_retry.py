"""The retry ledger: bounded per-source retries, hangs end at once, a task that cannot be written is given up."""

from __future__ import annotations

from toonset.executors.retry import RetryLedger
from toonset.executors.tasks import Task
from toonset.ingest.local import SourceRef


def _task() -> Task:
    return Task(0, [SourceRef("/in/a.mp4"), SourceRef("/in/b.mp4")])


def test_a_source_that_keeps_killing_workers_becomes_an_error_row():
    ledger, task = RetryLedger(retries=2), _task()
    for attempt in (2, 3):
        task = ledger.worker_died(task, "/in/a.mp4", "signal SIGSEGV")
        assert task.attempt == attempt and not task.preset_errors
    task = ledger.worker_died(task, "/in/a.mp4", "signal SIGSEGV")
    err = task.preset_errors["/in/a.mp4"]
    assert (err.stage, err.error_type, task.attempt) == ("worker", "worker_crash", 4)
    assert "SIGSEGV" in err.message and "/in/b.mp4" not in task.preset_errors


def test_a_hang_is_not_retried():
    ledger = RetryLedger(retries=2, timeout_s=5)
    task = ledger.timed_out(_task(), "/in/b.mp4")
    err = task.preset_errors["/in/b.mp4"]
    assert (err.stage, err.error_type) == ("timeout", "timeout") and "5 s" in err.message


def test_a_task_whose_outputs_cannot_be_written_is_given_up():
    ledger, task = RetryLedger(retries=1), _task()
    task = ledger.task_failed(task, "disk full")
    assert task is not None and not task.preset_errors
    task = ledger.task_failed(task, "disk full")  # last try: every source as an error row
    assert task is not None and set(task.preset_errors) == {"/in/a.mp4", "/in/b.mp4"}
    assert {e.stage for e in task.preset_errors.values()} == {"task"}
    assert ledger.task_failed(task, "disk full") is None
