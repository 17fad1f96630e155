"""Run a build: expand inputs → plan tasks → execute with an executor → finalize the dataset.

This is the Python entry point behind ``toonset build`` (the CLI only parses arguments and calls it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from toonset.config import BuildConfig
from toonset.errors import UsageError
from toonset.executors.local import InlineExecutor, LocalExecutor, default_workers
from toonset.executors.tasks import build_lock, is_done, largest_first, make_plan, remove_stale_temporaries
from toonset.ingest.local import expand_inputs
from toonset.pipeline.analyze_stage import SHOT_METHODS, analyzer_versions, check_analysis_settings
from toonset.pipeline.build import PipelineSpec
from toonset.store.dataset import finalize

Event = Callable[[str, dict[str, Any]], None]


def check_output(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"output {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create output folder {out}: {exc.strerror or exc}") from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"output folder {out} is not writable")


def build_dataset(
    inputs: list[str],
    out: str | Path,
    cfg: BuildConfig | None = None,
    *,
    workers: int | None = None,
    executor: str = "local",
    media: bool = True,
    fps: float | None = None,
    overwrite: bool = False,
    on_plan: Callable[[int, int], None] | None = None,
    on_event: Event | None = None,
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Build (or resume building) a dataset in ``out``; returns the summary printed by the CLI."""
    cfg = cfg or BuildConfig()
    if not media and cfg.media.enabled:  # the recorded config says what was stored
        cfg = BuildConfig.from_dict(cfg.to_dict())
        cfg.media.enabled = False
    if cfg.shots.method not in SHOT_METHODS:
        raise UsageError(f"unknown shots.method {cfg.shots.method!r}; choose from {', '.join(SHOT_METHODS)}")
    check_analysis_settings(cfg)
    out = Path(out).absolute()
    refs = expand_inputs(inputs, fps=fps)
    if not refs:
        raise UsageError("no video files or frame folders found in the inputs")
    check_output(out)
    with build_lock(out):
        remove_stale_temporaries(out)
        return _build_locked(refs, out, cfg, workers, executor, media, overwrite, on_plan, on_event, ray_address)


def auto_sources_per_task(n_sources: int, workers: int) -> int:
    """Task size when the config leaves it to the build: at least 16 tasks per worker, so the last tasks
    are short and every worker stays busy to the end (one source a task for small builds), and at most 64
    sources a task, so a resumed run redoes little and a large crawl does not write millions of parts. A
    resumed run keeps the size its plan was made with."""
    return max(1, min(64, n_sources // (16 * max(1, workers))))


def _build_locked(refs, out: Path, cfg: BuildConfig, workers, executor, media, overwrite,
                  on_plan, on_event, ray_address) -> dict[str, Any]:
    n_workers = workers if workers and workers > 0 else (cfg.executor.workers or default_workers())
    media = media and cfg.media.enabled
    per_task = cfg.executor.sources_per_task or auto_sources_per_task(len(refs), n_workers)
    tasks = make_plan(out, refs, cfg.to_dict(), per_task, media, overwrite)
    todo = [t for t in tasks if not is_done(out, t)]
    if on_plan:
        on_plan(len(refs), len(tasks) - len(todo))
    threads = cfg.decode.threads or max(1, (os.cpu_count() or 1) // n_workers)
    spec = PipelineSpec(cfg.to_dict(), media=media, threads=threads)
    t0 = time.perf_counter()
    if executor == "inline":
        runner: Any = InlineExecutor(spec)
    elif executor == "local":
        runner = LocalExecutor(spec, n_workers, cfg.executor.retries, cfg.executor.source_timeout_s)
    elif executor == "ray":
        from toonset.executors.ray_executor import RayExecutor

        runner = RayExecutor(spec, address=ray_address, retries=cfg.executor.retries,
                             source_timeout_s=cfg.executor.source_timeout_s,
                             workers=(workers if workers and workers > 0 else cfg.executor.workers) or None)
    else:
        raise UsageError(f"unknown executor {executor!r} (inline, local, ray)")
    runner.run(largest_first(todo), out, on_event)
    elapsed = time.perf_counter() - t0
    missing = [t.task_id for t in tasks if not is_done(out, t)]
    if missing:
        raise RuntimeError(f"{len(missing)} task(s) did not complete: {', '.join(missing[:5])}")
    summary = finalize(out, cfg.to_dict(), extra={"executor": runner.name, "workers": n_workers,
                                                  "analyzers": analyzer_versions(cfg)})
    summary["elapsed_s"] = round(elapsed, 3)
    summary["resumed_tasks"] = len(tasks) - len(todo)
    summary["output"] = str(out)
    return summary
