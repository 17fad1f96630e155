"""Tasks: the unit of parallel work, with its plan, its outputs and its completion marker.

A build's sources are split into tasks of a few sources each, in a deterministic order saved in
``_tasks/plan.json``. Each task writes its shard, then its table parts in ``_tasks/<task-id>/``, and only
then the marker ``_tasks/<task-id>.done``. A re-run skips tasks with a marker and redoes the rest from
scratch, so a run killed at any moment resumes with nothing lost and nothing doubled.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import stat
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toonset.errors import ToonsetError, UsageError
from toonset.ingest.local import SourceRef
from toonset.io.sniff import sniff_header
from toonset.model.records import ErrorRecord
from toonset.pipeline.stage import Stage
from toonset.pipeline.work import SourceWork
from toonset.store.atomic import atomic_dir, atomic_write_text
from toonset.store.shards import write_shard
from toonset.store.tables import write_rows

TASKS_DIR = "_tasks"
PLAN_VERSION = 1


@dataclass
class Task:
    index: int
    refs: list[SourceRef]
    attempt: int = 1
    # sources that already failed in earlier attempts (worker crash, timeout): path -> error record
    preset_errors: dict[str, ErrorRecord] = field(default_factory=dict)

    @property
    def task_id(self) -> str:
        return f"t{self.index:06d}"

    @property
    def shard_name(self) -> str:
        return f"clips-{self.index:05d}.tar"


def ref_to_json(ref: SourceRef) -> dict[str, Any]:
    return {"path": ref.path, "kind": ref.kind, "fps": ref.fps, "provenance": ref.provenance}


def ref_from_json(d: dict[str, Any]) -> SourceRef:
    return SourceRef(d["path"], d.get("kind", "file"), d.get("fps"), d.get("provenance") or {})


# A source's expected cost in CPU-seconds of one worker: per decoded frame, per decoded pixel and per byte of
# compressed input (entropy decoding). Fitted on the 17 real benchmark files (SD to 1080p, h264/hevc/vp8,
# clean and grainy); only the order of tasks depends on it, never a result.
COST_PER_FRAME_S = 4.2e-4
COST_PER_PIXEL_S = 1.8e-9
COST_PER_BYTE_S = 8.7e-8
COST_PER_BYTE_UNKNOWN_S = 2.0e-7  # a file whose header was not read (GIF, AVI, MPEG-TS, a damaged file)
COST_PER_IMAGE_BYTE_S = 3.0e-8  # a frame folder: decoding PNG/JPEG images
DEFAULT_FPS = 24.0
SNIFF_BUDGET_S = 2.0  # header reading for a whole plan: beyond it, files are estimated by size alone


def source_cost(ref: SourceRef, sniff: bool = True) -> float:
    """The expected cost of one source (CPU-seconds): from its container header when ``sniff`` and the
    format is one ``sniff_header`` reads, else from its size (a frame folder: from its images, 0 without
    ``sniff``). Opens regular files only (a named pipe would block) and never hands a file to FFmpeg: a
    broken file cannot harm the coordinating process."""
    try:
        st = os.stat(ref.path)
    except (OSError, ValueError):
        return 0.0
    if ref.kind == "frames" and stat.S_ISDIR(st.st_mode):
        if not sniff:  # the budget is spent: listing many large folders would cost as much as reading headers
            return 0.0
        try:
            sizes = [e.stat().st_size for e in os.scandir(ref.path) if e.is_file(follow_symlinks=False)]
        except OSError:
            return 0.0
        return len(sizes) * COST_PER_FRAME_S + sum(sizes) * COST_PER_IMAGE_BYTE_S
    if not stat.S_ISREG(st.st_mode):
        return 0.0
    info = sniff_header(ref.path) if sniff else None
    if info is None or not (info.frames or info.duration > 0):
        return st.st_size * COST_PER_BYTE_UNKNOWN_S
    frames = info.frames or info.duration * (info.fps if 1.0 <= info.fps <= 240.0 else DEFAULT_FPS)
    frames = min(frames, 1e9)
    return frames * (COST_PER_FRAME_S + COST_PER_PIXEL_S * info.width * info.height) + st.st_size * COST_PER_BYTE_S


def largest_first(tasks: list[Task], budget_s: float = SNIFF_BUDGET_S) -> list[Task]:
    """The order to *run* tasks in: most expensive first (longest processing time first), so the long ones
    do not start last and leave the other workers idle at the end. The plan, the task ids and the merged
    output keep the plan's order. Headers are read for at most ``budget_s`` seconds; later files are
    estimated from their size (a large crawl has many small tasks, where the order matters little)."""
    deadline = time.monotonic() + budget_s
    cost: dict[int, float] = {}
    for t in tasks:
        cost[t.index] = sum(source_cost(r, sniff=time.monotonic() < deadline) for r in t.refs)
    return sorted(tasks, key=lambda t: (-cost[t.index], t.index))


def make_plan(out: Path, refs: Sequence[SourceRef], config: dict[str, Any], per_task: int,
              media: bool, overwrite: bool = False) -> list[Task]:
    """Create or reload the task plan. A resumed run must have the same inputs and config."""
    tdir = out / TASKS_DIR
    plan_path = tdir / "plan.json"
    wanted = {
        "version": PLAN_VERSION,
        "sources": [ref_to_json(r) for r in refs],
        "config": config,
        "media": media,
        "sources_per_task": max(1, per_task),
    }
    if plan_path.exists() and not overwrite:
        try:
            existing = json.loads(plan_path.read_text())
        except (OSError, json.JSONDecodeError):
            existing = None
        if existing is not None:
            for key in ("sources", "config", "media"):
                if existing.get(key) != wanted[key]:
                    raise UsageError(
                        f"{out} holds a run with different {key}; resume it with the same command, "
                        "or pass --overwrite to start again"
                    )
            wanted = existing
    elif plan_path.exists() and overwrite:
        for name in (TASKS_DIR, "shards"):
            shutil.rmtree(out / name, ignore_errors=True)
        for f in out.glob("*.parquet"):
            f.unlink()
        (out / "dataset.json").unlink(missing_ok=True)
    tdir.mkdir(parents=True, exist_ok=True)
    # ASCII escapes keep file names that are not valid UTF-8 (lone surrogates) exactly, through a reload
    atomic_write_text(plan_path, json.dumps(wanted, indent=1))
    all_refs = [ref_from_json(d) for d in wanted["sources"]]
    n = wanted["sources_per_task"]
    return [Task(i, all_refs[s : s + n]) for i, s in enumerate(range(0, len(all_refs), n))]


@contextlib.contextmanager
def build_lock(out: Path) -> Iterator[None]:
    """Hold ``_tasks/lock`` for the whole run (released by the OS even on kill -9); refuse a second run."""
    tdir = out / TASKS_DIR
    tdir.mkdir(parents=True, exist_ok=True)
    with open(tdir / "lock", "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise UsageError(f"another build is writing to {out}") from exc
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def remove_stale_temporaries(out: Path) -> int:
    """Delete what killed runs left half-written (hidden temp files and folders); returns how many."""
    removed = 0
    for folder in (out, out / TASKS_DIR, out / "shards"):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if entry.name.startswith(".") and (".tmp" in entry.name or ".parts-" in entry.name
                                               or ".spool-" in entry.name):
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed += 1
    return removed


def clip_media_entry(encoded: bool, source_path: str, source_id: str) -> dict[str, Any]:
    """How a clip's frames are stored, in its shard ``.json``: ``encoded`` (the ``.mp4`` beside it) or
    ``reference`` (decode the source's frames ``start_frame``..``end_frame`` - 1; the loaders do)."""
    if encoded:
        return {"kind": "encoded", "member": "mp4"}
    return {"kind": "reference", "source_id": source_id, "source_path": source_path}


def marker_path(out: Path, task: Task) -> Path:
    return out / TASKS_DIR / f"{task.task_id}.done"


def is_done(out: Path, task: Task) -> bool:
    return marker_path(out, task).exists()


def exception_text(exc: BaseException) -> str:
    """An unexpected exception's message and where it was raised (file:line), at most 2,000 characters."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
    return f"{exc}{where}"[:2000]


def error_from_exception(ref: SourceRef, stage: str, exc: BaseException, attempt: int,
                         source_id: str = "") -> ErrorRecord:
    if isinstance(exc, ToonsetError):
        return ErrorRecord(ref.path, source_id, stage, exc.kind, str(exc), attempt)
    return ErrorRecord(ref.path, source_id, stage, type(exc).__name__, exception_text(exc), attempt)


Progress = Callable[[str, dict[str, Any]], None]


def run_task(task: Task, stages: Sequence[Stage], out: Path, media: bool,
             progress: Progress | None = None) -> dict[str, Any]:
    """Run every source of a task through the stages and write the task's outputs, marker last."""
    out = Path(out)
    tdir = out / TASKS_DIR
    spool = Path(tempfile.mkdtemp(prefix=f".{task.task_id}.spool-", dir=tdir))
    works: list[SourceWork] = []
    try:
        for ref in task.refs:
            work = SourceWork(ref, spool_dir=str(spool))
            works.append(work)
            if ref.path in task.preset_errors:
                work.errors.append(task.preset_errors[ref.path])
                continue
            if progress:
                progress("source_start", {"task": task.task_id, "path": ref.path})
            t0 = time.perf_counter()
            for stage in stages:
                try:
                    if stage.process(work) is None:
                        break
                except Exception as exc:  # one bad input never stops the task
                    sid = work.source.source_id if work.source else ""
                    work.errors.append(error_from_exception(ref, stage.name, exc, task.attempt, sid))
                    work.clips.clear()
                    work.keyframes.clear()
                    work.media.clear()
                    work.source = None
                    break
            if progress:
                frames = work.source.frame_count if work.source else 0
                progress("source_done", {"task": task.task_id, "path": ref.path, "frames": frames,
                                         "seconds": time.perf_counter() - t0})
        return write_task_outputs(task, works, out, media)
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def write_task_outputs(task: Task, works: list[SourceWork], out: Path, media: bool) -> dict[str, Any]:
    """The task's shard (every clip's metadata, media and keyframe pictures, whatever was stored) and its
    table parts, marker last. A shard is written whenever the task has clips, so the ``shard`` column is
    the same with and without media."""
    tdir = out / TASKS_DIR
    clips = [c for w in works for c in w.clips]
    shard = ""
    if clips:
        shard = f"shards/{task.shard_name}"
        kf: dict[str, list[list[int]]] = {}
        for w in works:
            for k in w.keyframes:
                kf.setdefault(k.clip_id, []).append([k.frame, k.hold])
        samples = []
        for w in works:
            src = w.source
            for c in w.clips:
                c.shard = shard
                files: dict[str, str | tuple[str, int, int]] = {}
                if c.clip_id in w.media:
                    files["mp4"] = w.media[c.clip_id]
                files.update(w.pictures.get(c.clip_id, {}))
                row = dict(c.row(), keyframes=kf.get(c.clip_id, []),
                           media=clip_media_entry(c.clip_id in w.media, src.path if src else "",
                                                  src.source_id if src else ""))
                samples.append((c.clip_id, row, files))
        write_shard(out / shard, samples)
    else:
        (out / "shards" / task.shard_name).unlink(missing_ok=True)
    final = tdir / task.task_id
    with atomic_dir(final) as tmp:
        write_rows(tmp / "sources.parquet", "sources", [w.source.row() for w in works if w.source])
        write_rows(tmp / "clips.parquet", "clips", [c.row() for c in clips])
        write_rows(tmp / "keyframes.parquet", "keyframes", [k.row() for w in works for k in w.keyframes])
        write_rows(tmp / "errors.parquet", "errors", [e.row() for w in works for e in w.errors])
        write_rows(tmp / "filtered.parquet", "filtered", [f.row() for w in works for f in w.filtered])
    summary = {
        "task": task.task_id, "attempt": task.attempt, "sources": len(works),
        "ok": sum(1 for w in works if w.source is not None), "clips": len(clips),
        "errors": sum(len(w.errors) for w in works),
        "frames": sum(w.source.frame_count for w in works if w.source), "shard": shard,
    }
    atomic_write_text(marker_path(out, task), json.dumps(summary))
    return summary
