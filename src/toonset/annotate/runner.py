"""Run annotators over a built dataset: planned in tasks, resumable, merged into per-annotator tables.

Layout under ``DATASET/annotations/``::

    <table>.parquet          merged rows of every annotator that writes the table (ocr, ocr_clips, regions …)
    coverage.parquet         per annotator and clip: keyframes examined, status (ok | error), message
    annotations.json         per annotator: version, params, model sha256, tables, counts (written last)
    _tasks/<plan>/<annotator>/<version>-<params hash>/<task>.<table>.parquet, <task>.coverage.parquet,
                                                     <task>.done (marker, written last, atomically)

The plan (``<plan>``: a hash of the dataset's clip ids and the task size) splits the clips, in table order,
into tasks. A run skips every (task, annotator run) that has its marker, so killing it loses at most the
tasks in flight and re-running adds only what is missing; a new version or other params of one annotator
re-run only that annotator. Merging reads the parts of the annotator runs recorded in ``annotations.json``
and refuses a key that occurs twice (nothing is overwritten).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from toonset.annotate.base import (
    PROVENANCE,
    Annotations,
    Annotator,
    ClipItem,
    MissingPicturesError,
    Pictures,
    TableSpec,
    params_json,
    run_identity,
)
from toonset.annotate.registry import annotator_class, make_annotator
from toonset.errors import UsageError
from toonset.executors.tasks import exception_text
from toonset.io.decode import sha256_file
from toonset.pipeline.stage import Resources
from toonset.store.atomic import atomic_open, atomic_write_text
from toonset.store.schema import TABLES

ANNOTATIONS_DIR = "annotations"
COVERAGE = pa.schema([
    ("annotator", pa.string()), ("annotator_version", pa.string()), ("clip_id", pa.string()),
    ("keyframes_seen", pa.int64()), ("status", pa.string()), ("message", pa.string()),
])
Event = Callable[[str, dict[str, Any]], None]


class AnnotationError(UsageError):
    """Annotation tables that cannot be merged (a key collision) or a run that cannot start."""


@dataclass(frozen=True)
class AnnotatorSpec:
    """What a worker needs to rebuild an annotator (picklable)."""

    name: str
    params: dict[str, Any]


@dataclass(frozen=True)
class AnnotateTask:
    index: int
    clip_ids: tuple[str, ...]

    @property
    def task_id(self) -> str:
        return f"task-{self.index:05d}"


def full_schema(spec: TableSpec) -> pa.Schema:
    return pa.schema(list(spec.schema) + [f for f in PROVENANCE if f.name not in spec.schema.names])


def _rows_table(spec: TableSpec, rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=full_schema(spec))


def write_parquet(path: Path, table: pa.Table) -> None:
    with atomic_open(path, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")


def order_annotators(names: list[str], requires: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """Names with every ``requires`` before its user (the ones named only; others must exist already).
    ``requires``: per name, the instance's list when settings change it (else the class's)."""
    out: list[str] = []
    seen: set[str] = set()

    def visit(n: str, stack: tuple[str, ...]) -> None:
        if n in seen:
            return
        if n in stack:
            raise UsageError(f"annotators require each other in a cycle: {' -> '.join((*stack, n))}")
        for r in (requires or {}).get(n, annotator_class(n).requires):
            if r in names:
                visit(r, (*stack, n))
        seen.add(n)
        out.append(n)

    for n in names:
        visit(n, ())
    return out


# --------------------------------------------------------------------------------------------- worker
class AnnotateWorker:
    """Holds the annotators of a run in one process (``setup`` once) and runs tasks."""

    def __init__(self, dataset: str, plan_dir: str, specs: list[AnnotatorSpec], allow_decode: bool = False) -> None:
        from toonset.store.dataset import open_dataset

        self.ds = open_dataset(dataset)
        self.plan_dir = Path(plan_dir)
        self.allow_decode = allow_decode
        self.annotators: list[Annotator] = [make_annotator(s.name, s.params) for s in specs]
        for a in self.annotators:
            a.setup()
        self.model_sha = {a.name: ",".join(sha256_file(str(p)) for p in a.model_files()) for a in self.annotators}
        self.clips = {r["clip_id"]: r for r in self.ds.clips.to_pylist()}
        self.sources = {r["source_id"]: r for r in self.ds.sources.to_pylist()}
        self.stored_prior = self._stored_prior()
        kf: dict[str, list[tuple[int, int]]] = {}
        t = self.ds.keyframes
        for cid, frame, hold in zip(t["clip_id"].to_pylist(), t["frame"].to_pylist(), t["hold"].to_pylist()):
            kf.setdefault(cid, []).append((frame, hold))
        self.keyframes = kf

    def _stored_prior(self) -> dict[str, dict[str, dict[str, list[dict[str, Any]]]]]:
        """Rows of required annotators that are not in this run but ran before (from the merged tables):
        clip_id → {annotator: {table: rows}}."""
        in_run = {a.name for a in self.annotators}
        wanted = {r for a in self.annotators for r in a.requires} - in_run
        done = self.ds.annotators
        out: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {}
        for name in sorted(wanted & set(done)):
            for table in done[name]["tables"]:
                try:
                    data = self.ds.annotation(table)
                except KeyError:
                    continue
                data = data.filter(pc.equal(data["annotator"], name))
                for row in data.to_pylist():
                    out.setdefault(row["clip_id"], {}).setdefault(name, {}).setdefault(table, []).append(row)
        return out

    def run_dir(self, a: Annotator) -> Path:
        return self.plan_dir / a.name / run_identity(a)

    def _item(self, cid: str) -> ClipItem:
        clip = self.clips[cid]
        keyframes = self.keyframes.get(cid, [])
        stored = set(self.ds.keyframe_frames(cid))

        def load(frame: int):
            if frame in stored:
                return self.ds.keyframe_image(cid, frame)
            if not self.allow_decode:
                raise MissingPicturesError(f"clip {cid} has no stored picture of keyframe {frame} (built with "
                                           "--no-keyframes?); pass --decode to decode the clip instead")
            return self.ds.clip_frames(cid, keep={frame - clip["start_frame"]})[0]

        prior = {n: {t: list(r) for t, r in tables.items()} for n, tables in self.stored_prior.get(cid, {}).items()}
        return ClipItem(clip, self.sources.get(clip["source_id"], {}), keyframes,
                        Pictures([f for f, _ in keyframes], load), prior)

    def _annotate(self, a: Annotator, items: list[ClipItem]) -> tuple[Annotations, dict[str, str]]:
        """Batches of ``batch_size``; a failing batch is retried clip by clip so one bad clip is isolated."""
        out = Annotations()
        errors: dict[str, str] = {}
        size = max(1, a.batch_size)
        for i in range(0, len(items), size):
            batch = items[i : i + size]
            try:
                parts = [a.annotate(batch)]
            except Exception:
                parts = []
                for item in batch:
                    try:
                        parts.append(a.annotate([item]))
                    except Exception as exc:
                        errors[item.clip_id] = f"{type(exc).__name__}: {exception_text(exc)}"[:2000]
            for p in parts:
                for table, rows in p.rows.items():
                    out.rows.setdefault(table, []).extend(rows)
                out.coverage.update(p.coverage)
        return out, errors

    def run_task(self, task: AnnotateTask) -> dict[str, Any]:
        items = [self._item(cid) for cid in task.clip_ids if cid in self.clips]
        by_clip = {it.clip_id: it for it in items}
        summary: dict[str, Any] = {"task": task.task_id, "annotated": {}}
        for a in self.annotators:
            rdir = self.run_dir(a)
            marker = rdir / f"{task.task_id}.done"
            if marker.exists():
                result = self._load_parts(a, task)
            else:
                t0, c0 = time.perf_counter(), time.process_time()
                result, errors = self._annotate(a, items)
                self._write_parts(a, task, items, result, errors, time.perf_counter() - t0,
                                  time.process_time() - c0)
                summary["annotated"][a.name] = len(items)
            for table, rows in result.rows.items():
                for row in rows:
                    it = by_clip.get(row.get("clip_id", ""))
                    if it is not None:
                        it.prior.setdefault(a.name, {}).setdefault(table, []).append(row)
        return summary

    def _load_parts(self, a: Annotator, task: AnnotateTask) -> Annotations:
        out = Annotations()
        for table in a.tables:
            path = self.run_dir(a) / f"{task.task_id}.{table}.parquet"
            if path.exists():
                out.rows[table] = pq.read_table(path).to_pylist()
        return out

    def _write_parts(self, a: Annotator, task: AnnotateTask, items: list[ClipItem], result: Annotations,
                     errors: dict[str, str], seconds: float, cpu_seconds: float = 0.0) -> None:
        rdir = self.run_dir(a)
        rdir.mkdir(parents=True, exist_ok=True)
        prov = {"annotator": a.name, "annotator_version": a.version, "model_sha256": self.model_sha[a.name],
                "params": params_json(a.params)}
        unknown = set(result.rows) - set(a.tables)
        if unknown:
            raise RuntimeError(f"annotator {a.name} returned rows for undeclared table(s) {sorted(unknown)}")
        for table, spec in a.tables.items():
            rows = [{**r, **prov} for r in result.rows.get(table, []) if r.get("clip_id") not in errors]
            write_parquet(rdir / f"{task.task_id}.{table}.parquet", _rows_table(spec, rows))
        cov = []
        for it in items:
            seen = result.coverage.get(it.clip_id, len(it.keyframes) if a.needs_pictures else 0)
            err = errors.get(it.clip_id, "")
            cov.append({"annotator": a.name, "annotator_version": a.version, "clip_id": it.clip_id,
                        "keyframes_seen": 0 if err else seen, "status": "error" if err else "ok", "message": err})
        write_parquet(rdir / f"{task.task_id}.coverage.parquet", pa.Table.from_pylist(cov, schema=COVERAGE))
        atomic_write_text(rdir / f"{task.task_id}.done", json.dumps(
            {"clips": len(items), "errors": len(errors), "seconds": round(seconds, 3),
             "cpu_seconds": round(cpu_seconds, 3), "model_sha256": self.model_sha[a.name]}))

    def close(self) -> None:
        for a in self.annotators:
            a.teardown()


_WORKER: dict[str, AnnotateWorker] = {}


def _init_worker(dataset: str, plan_dir: str, specs: list[AnnotatorSpec], allow_decode: bool, threads: int) -> None:
    if threads > 0:
        import cv2

        cv2.setNumThreads(threads)
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    _WORKER["w"] = AnnotateWorker(dataset, plan_dir, specs, allow_decode)


def _run_in_worker(task: AnnotateTask) -> dict[str, Any]:
    return _WORKER["w"].run_task(task)


# --------------------------------------------------------------------------------------------- driver
def plan_tasks(clip_ids: list[str], clips_per_task: int) -> tuple[str, list[AnnotateTask]]:
    digest = hashlib.sha256(("\n".join(clip_ids) + f"\n{clips_per_task}").encode()).hexdigest()[:12]
    n = max(1, clips_per_task)
    return digest, [AnnotateTask(i, tuple(clip_ids[s : s + n])) for i, s in enumerate(range(0, len(clip_ids), n))]


def combined_resources(annotators: list[Annotator]) -> Resources:
    return Resources(cpus=max((a.resources.cpus for a in annotators), default=1.0),
                     memory_mb=sum(a.resources.memory_mb for a in annotators) or 512,
                     accelerator=next((a.resources.accelerator for a in annotators if a.resources.accelerator), ""),
                     accelerators=max((a.resources.accelerators for a in annotators), default=0.0))


def annotate_dataset(dataset: str | Path, names: list[str], settings: dict[str, dict[str, Any]] | None = None, *,
                     workers: int = 1, executor: str = "local", clips_per_task: int = 32,
                     allow_decode: bool = False, on_event: Event | None = None,
                     ray_address: str | None = None, retry_errors: bool = False) -> dict[str, Any]:
    """Run ``names`` over the dataset at ``dataset`` (resumably) and merge the annotation tables.
    ``retry_errors``: run again the tasks in which a clip failed (an endpoint that was down, …)."""
    from toonset.store.dataset import open_dataset

    ds = open_dataset(dataset)
    settings = settings or {}
    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise UsageError("--with needs at least one annotator")
    unknown_sections = sorted(set(settings) - {annotator_class(n).name for n in names} - set(names))
    if unknown_sections:
        raise UsageError(f"settings for annotator(s) not in this run: {', '.join(unknown_sections)}")
    built = {n: make_annotator(n, settings.get(annotator_class(n).name, settings.get(n, {}))) for n in names}
    ordered = order_annotators(names, requires={n: a.requires for n, a in built.items()})
    annotators = [built[n] for n in ordered]
    for a in annotators:
        a.check()
    for a in annotators:
        for t in a.tables:
            if t in TABLES or t in ("coverage",):
                raise UsageError(f"annotator {a.name} declares table {t!r}, a name the dataset already uses")
    specs = [AnnotatorSpec(n, a.params) for n, a in zip(ordered, annotators)]
    clips = ds.clips.sort_by([("source_id", "ascending"), ("start_frame", "ascending")])
    clip_ids = clips["clip_id"].to_pylist()
    plan, tasks = plan_tasks(clip_ids, clips_per_task)
    root = Path(dataset) / ANNOTATIONS_DIR
    plan_dir = root / "_tasks" / plan
    plan_dir.mkdir(parents=True, exist_ok=True)

    if retry_errors:
        for a in annotators:
            for marker in (plan_dir / a.name / run_identity(a)).glob("task-*.done"):
                if json.loads(marker.read_text()).get("errors", 0) > 0:
                    marker.unlink()

    def done(task: AnnotateTask) -> bool:
        return all((plan_dir / a.name / run_identity(a) / f"{task.task_id}.done").exists() for a in annotators)

    todo = [t for t in tasks if not done(t)]
    if on_event:
        on_event("plan", {"tasks": len(tasks), "todo": len(todo), "clips": len(clip_ids)})
    t0 = time.perf_counter()
    if todo:
        _execute(str(Path(dataset)), str(plan_dir), specs, annotators, todo, workers, executor, allow_decode,
                 on_event, ray_address)
    elapsed = time.perf_counter() - t0
    missing = [t.task_id for t in tasks if not done(t)]
    if missing:
        raise RuntimeError(f"{len(missing)} annotation task(s) did not complete: {', '.join(missing[:5])}")
    manifest = _update_manifest(root, plan, annotators, tasks)
    merged = merge_annotations(Path(dataset), manifest)
    return {"dataset": str(dataset), "annotators": {a.name: manifest["annotators"][a.name] for a in annotators},
            "tables": merged, "tasks": len(tasks), "resumed_tasks": len(tasks) - len(todo),
            "elapsed_s": round(elapsed, 3)}


def _execute(dataset: str, plan_dir: str, specs: list[AnnotatorSpec], annotators: list[Annotator],
             todo: list[AnnotateTask], workers: int, executor: str, allow_decode: bool, on_event: Event | None,
             ray_address: str | None) -> None:
    def report(summary: dict[str, Any]) -> None:
        if on_event:
            on_event("task_done", summary)

    if executor == "inline" or (executor == "local" and workers <= 1):
        w = AnnotateWorker(dataset, plan_dir, specs, allow_decode)
        try:
            for t in todo:
                report(w.run_task(t))
        finally:
            w.close()
        return
    if executor == "local":
        threads = max(1, (os.cpu_count() or 1) // max(1, workers))
        ctx = mp.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(dataset, plan_dir, specs, allow_decode, threads)) as pool:
            futures = [pool.submit(_run_in_worker, t) for t in todo]
            for f in as_completed(futures):
                report(f.result())
        return
    if executor == "ray":
        _execute_ray(dataset, plan_dir, specs, annotators, todo, workers, allow_decode, report, ray_address)
        return
    raise UsageError(f"unknown executor {executor!r} (inline, local, ray)")


def _execute_ray(dataset, plan_dir, specs, annotators, todo, workers, allow_decode, report, ray_address) -> None:
    """One Ray actor per worker, each holding every annotator (set up once), asking for the combined
    ``Resources`` of the annotators (CPUs, memory, GPUs when one declares them)."""
    try:
        import ray
        from ray.util import ActorPool
    except ImportError as exc:
        from toonset.pipeline.stage import MissingExtraError

        raise MissingExtraError("the Ray executor", "ray") from exc
    started = False
    if not ray.is_initialized():
        if ray_address:
            ray.init(address=ray_address, log_to_driver=False)
        else:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False)
        started = True
    try:
        res = combined_resources(annotators)
        opts: dict[str, Any] = {"num_cpus": res.cpus, "memory": res.memory_mb * 2**20}
        if res.accelerator.upper() == "GPU" and res.accelerators:
            opts["num_gpus"] = res.accelerators
        actor_cls = ray.remote(**opts)(AnnotateWorker)
        actors = [actor_cls.remote(dataset, plan_dir, specs, allow_decode) for _ in range(max(1, workers))]
        pool = ActorPool(actors)
        for summary in pool.map_unordered(lambda actor, t: actor.run_task.remote(t), todo):
            report(summary)
    finally:
        if started:
            ray.shutdown()


# --------------------------------------------------------------------------------------------- merge
def _update_manifest(root: Path, plan: str, annotators: list[Annotator], tasks: list[AnnotateTask]) -> dict[str, Any]:
    path = root / "annotations.json"
    manifest: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    if manifest.get("plan") != plan:
        manifest = {"plan": plan, "annotators": {}}  # the clips changed: older runs no longer apply
    for a in annotators:
        rdir = root / "_tasks" / plan / a.name / run_identity(a)
        markers = [json.loads((rdir / f"{t.task_id}.done").read_text()) for t in tasks]
        manifest["annotators"][a.name] = {
            "class": f"{type(a).__module__}:{type(a).__qualname__}", "version": a.version,
            "run": run_identity(a), "params": a.params, "tables": sorted(a.tables),
            "model_sha256": markers[0]["model_sha256"] if markers else "",
            "clips": sum(m["clips"] for m in markers), "errors": sum(m["errors"] for m in markers),
            "seconds": round(sum(m["seconds"] for m in markers), 3),
            # CPU time of the worker process (all its threads) while annotating; excludes reading the tables
            "cpu_seconds": round(sum(m.get("cpu_seconds", 0.0) for m in markers), 3),
        }
    atomic_write_text(path, json.dumps(manifest, indent=1, ensure_ascii=False, default=str))
    return manifest


def merge_annotations(dataset: Path, manifest: dict[str, Any]) -> dict[str, int]:
    """Concatenate every recorded annotator run's parts per table; refuse duplicate keys."""
    root = dataset / ANNOTATIONS_DIR
    plan_dir = root / "_tasks" / manifest["plan"]
    pieces: dict[str, list[pa.Table]] = {}
    specs: dict[str, TableSpec] = {}
    for name, info in manifest["annotators"].items():
        cls = annotator_class(info["class"])
        rdir = plan_dir / name / info["run"]
        for table, spec in cls.tables.items():
            if table in specs and specs[table].schema != spec.schema:
                raise AnnotationError(f"annotators declare table {table!r} with different columns")
            specs[table] = spec
            for part in sorted(rdir.glob(f"task-*.{table}.parquet")):
                pieces.setdefault(table, []).append(pq.read_table(part))
        for part in sorted(rdir.glob("task-*.coverage.parquet")):
            pieces.setdefault("coverage", []).append(pq.read_table(part))
    counts: dict[str, int] = {}
    for table, parts in pieces.items():
        schema = COVERAGE if table == "coverage" else full_schema(specs[table])
        merged = pa.concat_tables([p.cast(schema) for p in parts]) if parts else schema.empty_table()
        key = ("annotator", "clip_id") if table == "coverage" else ("annotator", *specs[table].key)
        check_unique(table, merged, key)
        write_parquet(root / f"{table}.parquet", merged)
        counts[table] = merged.num_rows
    return counts


def check_unique(table: str, data: pa.Table, key: tuple[str, ...]) -> None:
    if data.num_rows == 0:
        return
    key = tuple(k for k in dict.fromkeys(key) if k in data.column_names)
    counted = data.group_by(list(key)).aggregate([([], "count_all")])
    dup = counted.filter(pc.greater(counted["count_all"], 1))
    if dup.num_rows:
        example = {k: dup[k][0].as_py() for k in key}
        raise AnnotationError(f"annotation table {table!r}: {dup.num_rows} key(s) occur more than once, e.g. "
                              f"{example}; refusing to merge (nothing was overwritten)")
