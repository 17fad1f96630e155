"""Ray executor: the same tasks and stages on a Ray cluster (``toonset build --executor ray``).

* **Workers are actors.** A pool of ``TaskRunner`` actors each builds the stages from the picklable
  ``PipelineSpec`` once (``setup()`` once per worker: models stay loaded) and runs whole tasks with
  ``run_task``, which writes the task's shard, table parts and ``.done`` marker atomically into the output
  folder — a filesystem every node mounts at the same path. Each actor asks Ray for what the stages declare
  (``resources.ray_options``: CPUs, memory, GPUs or custom accelerator resources).
* **Which source killed a worker.** Progress events go through a small ``EventLog`` actor, and a worker
  waits for ``source_start`` to be logged before it decodes, so when a worker dies the driver knows the
  source it was on — the same per-source accounting as ``LocalExecutor`` (``retry.RetryLedger``).
* **Worker deaths** (segfault, OOM kill, node loss): Ray restarts the actor (``max_restarts=-1``; setup runs
  again) but does not retry the call (``max_task_retries=0``); the driver re-submits the task under the
  ledger's bounded rules, so a source that keeps crashing ends as an error row, never a loop.
* **Per-video timeout**: a worker silent on one source past the limit is killed with ``ray.kill`` (the
  actor-task form of ``ray.cancel(force=True)``) and restarted by Ray; the source ends as a timeout row.

With ``address=None`` a private single-node instance is started on 127.0.0.1 and shut down at the end;
``address="auto"`` (or ``host:port``) joins an existing cluster.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toonset.errors import UsageError
from toonset.executors.resources import WorkerNeeds, pool_size, ray_options, worker_needs
from toonset.executors.retry import RetryLedger
from toonset.executors.tasks import Task, run_task
from toonset.pipeline.build import PipelineSpec
from toonset.pipeline.stage import MissingExtraError

Event = Callable[[str, dict[str, Any]], None]
LOCAL_OBJECT_STORE_BYTES = 256 * 1024 * 1024  # tasks pass only small summaries through the object store


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise UsageError(str(MissingExtraError("the Ray executor", "ray"))) from exc
    return ray


class EventLog:
    """Ray actor that collects workers' progress events; the driver takes them in batches."""

    def __init__(self) -> None:
        self._events: list[tuple[str, dict[str, Any]]] = []

    def put(self, kind: str, data: dict[str, Any]) -> None:
        self._events.append((kind, data))

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        events, self._events = self._events, []
        return events


class TaskRunner:
    """Ray actor: builds the pipeline once, then runs whole tasks (one at a time) like a local worker."""

    def __init__(self, spec: PipelineSpec, out: str, events: str) -> None:
        import ray

        self.spec = spec
        self.out = Path(out)
        self.events = ray.get_actor(events)  # by name: a handle argument would not survive a restart
        self.stages = spec.stages()
        for stage in self.stages:
            stage.setup()

    def ready(self) -> int:
        return os.getpid()

    def run(self, task: Task) -> dict[str, Any]:
        import ray

        def progress(kind: str, data: dict[str, Any]) -> None:
            ref = self.events.put.remote(kind, dict(data, attempt=task.attempt))
            if kind == "source_start":
                ray.get(ref)  # logged before decoding starts, so a crash is pinned on this source

        return run_task(task, self.stages, self.out, self.spec.media, progress)

    def close(self) -> None:
        for stage in self.stages:
            stage.teardown()


@dataclass
class _Slot:
    actor: Any
    ref: Any = None  # the pending call: ``ready()`` while (re)starting, ``run(task)`` while busy
    task: Task | None = None
    path: str = ""  # the source being processed ("" between sources)
    since: float = 0.0
    killed: bool = False  # stopped by the driver for overrunning the timeout


class RayExecutor:
    """Run tasks on Ray actors with the same outputs, retries and timeouts as ``LocalExecutor``."""

    name = "ray"

    def __init__(self, spec: PipelineSpec, address: str | None = None, retries: int = 2,
                 source_timeout_s: float = 0.0, workers: int | None = None, poll_s: float = 0.2,
                 startup_timeout_s: float = 900.0) -> None:
        self.spec = spec
        self.address = address
        self.retries = max(0, retries)
        self.timeout = source_timeout_s
        self.workers = workers if workers and workers > 0 else None
        self.poll_s = poll_s
        self.startup_timeout_s = startup_timeout_s

    def needs(self) -> WorkerNeeds:
        return worker_needs(self.spec.stages())

    # ------------------------------------------------------------------ connect
    def run(self, tasks: Sequence[Task], out: Path, on_event: Event | None = None) -> list[dict[str, Any]]:
        if not tasks:
            return []
        ray = import_ray()
        started = self._connect(ray)
        try:
            return self._run(ray, list(tasks), Path(out), on_event)
        finally:
            if started:
                ray.shutdown()

    def _connect(self, ray: Any) -> bool:
        """Join ``address`` or start a private loopback instance; False when Ray was already initialised."""
        if ray.is_initialized():
            return False
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": "warning"}
        if self.address:
            try:
                if _on_loopback(self.address):  # a single-node cluster on 127.0.0.1: join it the same way
                    with _loopback_only():
                        ray.init(address=self.address, **quiet)
                else:
                    ray.init(address=self.address, **quiet)
            except ConnectionError as exc:
                raise UsageError(
                    f"cannot join the Ray cluster at {self.address}: {exc}. A cluster with token "
                    "authentication (Ray's default) needs RAY_AUTH_MODE=token and its token on this machine"
                ) from exc
            return True
        needs = self.needs()
        cpus = self.workers * needs.cpus if self.workers else None
        with _loopback_only():
            # workers at normal priority, like the local executor's (Ray renices its workers to 15 so a busy
            # node's raylet stays responsive; on a machine shared with other work that halves their speed)
            ray.init(address="local", num_cpus=cpus, include_dashboard=False,
                     object_store_memory=LOCAL_OBJECT_STORE_BYTES, _system_config={"worker_niceness": 0}, **quiet)
        return True

    # ---------------------------------------------------------------------- run
    def _run(self, ray: Any, tasks: list[Task], out: Path, on_event: Event | None) -> list[dict[str, Any]]:
        needs = self.needs()
        n = min(len(tasks), self.workers or pool_size(needs, ray.cluster_resources(), len(tasks)))
        events_name = f"toonset-events-{uuid.uuid4().hex[:12]}"
        events = ray.remote(EventLog).options(num_cpus=0, name=events_name).remote()
        runner = ray.remote(TaskRunner).options(**ray_options(needs), max_restarts=-1, max_task_retries=0)

        def start() -> _Slot:
            slot = _Slot(runner.remote(self.spec, str(out), events_name))
            slot.ref = slot.actor.ready.remote()
            return slot

        slots = [start() for _ in range(n)]
        todo: deque[Task] = deque(tasks)
        pending = {t.task_id for t in tasks}
        ledger = RetryLedger(self.retries, self.timeout)
        results: list[dict[str, Any]] = []
        self._startup_failures = 0
        self._t0, self._any_ready = time.monotonic(), False
        try:
            while pending:
                for slot in slots:
                    if slot.ref is None and todo:
                        slot.task, slot.path, slot.killed = todo.popleft(), "", False
                        slot.since = time.monotonic()
                        slot.ref = slot.actor.run.remote(slot.task)
                refs = [s.ref for s in slots if s.ref is not None]
                ready, rest = ray.wait(refs, num_returns=1, timeout=self.poll_s)
                if ready and rest:
                    ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
                self._take_events(ray, events, slots, on_event)
                for ref in ready:
                    i = next(k for k, s in enumerate(slots) if s.ref is not None and s.ref == ref)
                    slot = slots[i]
                    slot.ref = None
                    if slot.task is None:
                        if not self._started(ray, ref, n):
                            ray.kill(slot.actor)
                            slots[i] = start()
                        continue
                    task, slot.task = slot.task, None
                    again = self._settle(ray, ref, task, slot, ledger, results, on_event)
                    if again is None:
                        pending.discard(task.task_id)  # done, or given up (the build reports it incomplete)
                    else:
                        todo.appendleft(again)
                self._check_timeouts(ray, slots)
                self._check_startup(needs)
        finally:
            self._stop(ray, slots, events)
        return results

    def _started(self, ray: Any, ref: Any, n: int) -> bool:
        try:
            ray.get(ref)
            self._any_ready = True
            return True
        except ray.exceptions.RayError as exc:
            self._startup_failures += 1
            if self._startup_failures > n + self.retries:
                raise RuntimeError(f"Ray workers cannot start: {_short(exc)}") from exc
            return False

    def _settle(self, ray: Any, ref: Any, task: Task, slot: _Slot, ledger: RetryLedger,
                results: list[dict[str, Any]], on_event: Event | None) -> Task | None:
        """Handle a finished ``run`` call; returns the task to run again, or None (done or given up)."""
        path, slot.path = slot.path, ""
        try:
            summary = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # run_task itself raised: writing the outputs failed
            return ledger.task_failed(task, _short(exc))
        except ray.exceptions.RayError as exc:  # the worker died (crash, OOM kill, node lost, timeout kill)
            slot.ref = slot.actor.ready.remote()  # Ray restarts the actor; wait for it before new work
            if slot.killed:
                return ledger.timed_out(task, path)
            return ledger.worker_died(task, path, _short(exc))
        results.append(summary)
        if on_event:
            on_event("task_done", summary)
        return None

    def _take_events(self, ray: Any, events: Any, slots: list[_Slot], on_event: Event | None) -> None:
        for kind, data in ray.get(events.take.remote()):
            slot = next((s for s in slots if s.task is not None and s.task.task_id == data["task"]
                         and s.task.attempt == data["attempt"]), None)
            if slot is None:
                continue  # from an attempt that already ended
            if kind == "source_start":
                slot.path, slot.since = data["path"], time.monotonic()
            elif kind == "source_done":
                slot.path = ""
                if on_event:
                    on_event(kind, data)

    def _check_timeouts(self, ray: Any, slots: list[_Slot]) -> None:
        if not self.timeout:
            return
        now = time.monotonic()
        for slot in slots:
            if slot.task is not None and slot.path and not slot.killed and now - slot.since > self.timeout:
                slot.killed = True
                ray.kill(slot.actor, no_restart=False)  # Ray restarts it; the call fails with ActorDiedError

    def _check_startup(self, needs: WorkerNeeds) -> None:
        if not self._any_ready and time.monotonic() - self._t0 > self.startup_timeout_s:
            raise RuntimeError(
                f"no Ray worker started within {self.startup_timeout_s:g} s; each asks for "
                f"{ray_options(needs)} — does the cluster have a node with these resources?")

    def _stop(self, ray: Any, slots: list[_Slot], events: Any) -> None:
        idle = [s.actor.close.remote() for s in slots if s.task is None and s.ref is None]
        if idle:
            ray.wait(idle, num_returns=len(idle), timeout=10)
        for slot in slots:
            ray.kill(slot.actor)
        ray.kill(events)


def _short(exc: BaseException) -> str:
    """One line of a Ray error: its cause and, for dead workers, Ray's exit detail."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    detail = [ln for ln in lines if "exit detail" in ln.lower() or "signal" in ln.lower()]
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        head = f"{type(cause).__name__}: {cause}"
    else:
        head = f"{type(exc).__name__}: {lines[0] if lines else ''}"
    return " | ".join(dict.fromkeys([head, *detail[:2]]))[:600]


def _on_loopback(address: str) -> bool:
    host = address.split("://")[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


class _loopback_only:
    """Start Ray's services on 127.0.0.1 only (Ray's single-node mode). Without it Ray binds the node's
    reachable address, which a laptop or a CI runner has no reason to expose. Restored afterwards so a
    later ``ray.init(address=...)`` in the same process can join a real cluster."""

    VAR = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"

    def __enter__(self) -> None:
        self.env = os.environ.get(self.VAR)
        os.environ[self.VAR] = "0"  # read by the services Ray starts
        try:
            from ray._private import ray_constants
        except ImportError:  # pragma: no cover - Ray moved its constants
            self.constants = None
            return
        self.constants = ray_constants
        self.old = getattr(ray_constants, "ENABLE_RAY_CLUSTER", True)
        ray_constants.ENABLE_RAY_CLUSTER = False  # read by this process (already imported)

    def __exit__(self, *exc: object) -> None:
        if self.env is None:
            os.environ.pop(self.VAR, None)
        else:
            os.environ[self.VAR] = self.env
        if self.constants is not None:
            self.constants.ENABLE_RAY_CLUSTER = self.old
