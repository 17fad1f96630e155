"""``toonset annotate`` over every clip of ``../shared/realdata``: completes, survives ``kill -9``, and costs.

    .venv/bin/python benchmarks/annotate_realdata.py [--with ocr,quality,tags] [--workers 2] [--kills 2]

1. Builds ``--no-media`` (tables + keyframe pictures) from every video in realdata once (kept in
   ``benchmarks/results/annotate-realdata/dataset``; ``--rebuild`` redoes it).
2. Annotates a copy without interruption, measuring wall time and the annotators' CPU time (the worker
   processes' own CPU clocks while annotating, recorded per task by the runner) against the clips' total
   duration: CPU-seconds per clip-second. The workers' start-up (imports, model loading) is not in it; the
   wall time of the whole command is reported beside it.
3. Annotates another copy through the CLI, killing its whole process group with SIGKILL ``--kills`` times
   just after a task completes, then lets it finish; the merged tables must equal the uninterrupted run's
   (compared after sorting by key; the ``params`` provenance column is the same JSON).

This reads evaluation-only files for cost and robustness only (EVALUATION.md allows speed benchmarks to
read them): no annotation output is looked at or reported beyond row counts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from common import REALDATA

REPO = Path(__file__).resolve().parents[1]


def build(cache: Path, workers: int, rebuild: bool) -> Path:
    ds = cache / "dataset"
    if ds.exists() and (ds / "dataset.json").exists() and not rebuild:
        return ds
    shutil.rmtree(ds, ignore_errors=True)
    cmd = [sys.executable, "-m", "toonset", "build", str(REALDATA), "-o", str(ds), "--no-media", "--workers",
           str(workers), "-q", "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return ds


def annotate_cmd(ds: Path, names: str, workers: int) -> list[str]:
    return [sys.executable, "-m", "toonset", "annotate", str(ds), "--with", names, "--workers", str(workers),
            "-q", "--json"]


def tables(ds: Path) -> dict[str, object]:
    out = {}
    for f in sorted((ds / "annotations").glob("*.parquet")):
        t = pq.read_table(f).to_pandas()
        keys = [c for c in ("annotator", "kind", "clip_id", "frame", "line", "region", "origin", "tag") if c in t]
        out[f.stem] = t.sort_values(keys).reset_index(drop=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--with", dest="names", default="ocr,quality,tags")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kills", type=int, default=2)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--cache", default=str(REPO / "benchmarks" / "results" / "annotate-realdata"))
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ds = build(cache, args.workers, args.rebuild)
    build_s = time.perf_counter() - t0
    meta = json.loads((ds / "dataset.json").read_text())
    clips = pq.read_table(ds / "clips.parquet").to_pandas()
    clip_seconds = float((clips.end_time - clips.start_time).sum())

    # 2. uninterrupted
    clean = cache / "clean"
    shutil.rmtree(clean, ignore_errors=True)
    shutil.copytree(ds, clean)
    w0 = time.perf_counter()
    done = subprocess.run(annotate_cmd(clean, args.names, args.workers), capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - w0
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    summary = json.loads(done.stdout)
    cpu = sum(v["cpu_seconds"] for v in summary["annotators"].values())

    # 3. killed and resumed
    victim = cache / "victim"
    shutil.rmtree(victim, ignore_errors=True)
    shutil.copytree(ds, victim)

    def markers() -> int:
        return len(list((victim / "annotations" / "_tasks").rglob("*.done"))) if (victim / "annotations").exists() else 0

    kills = []
    if args.kills == 0:
        print(json.dumps({"clip_seconds": round(clip_seconds, 1), "annotate_wall_s": round(wall, 1),
                          "annotate_cpu_s": round(cpu, 1), "cpu_s_per_clip_s": round(cpu / clip_seconds, 3),
                          "per_annotator_cpu_s": {k: v["cpu_seconds"] for k, v in summary["annotators"].items()}},
                         indent=1))
        return
    for _ in range(args.kills):
        seen = markers()
        p = subprocess.Popen(annotate_cmd(victim, args.names, args.workers), cwd=REPO, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while markers() <= seen and p.poll() is None:
            time.sleep(0.05)
        time.sleep(0.5)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        kills.append(markers())
    resumed = subprocess.run(annotate_cmd(victim, args.names, args.workers), capture_output=True, text=True, cwd=REPO)
    if resumed.returncode != 0:
        raise SystemExit(resumed.stderr[-3000:])
    a, b = tables(clean), tables(victim)
    same = {name: bool(name in b and a[name].equals(b[name])) for name in a}
    result = {
        "sources": meta["counts"]["sources"], "clips": len(clips), "keyframes": meta["counts"]["keyframes"],
        "clip_seconds": round(clip_seconds, 1), "build_s": round(build_s, 1), "annotate_wall_s": round(wall, 1),
        "annotate_cpu_s": round(cpu, 1), "cpu_s_per_clip_s": round(cpu / max(1e-9, clip_seconds), 3),
        "per_annotator_cpu_s": {k: v["cpu_seconds"] for k, v in summary["annotators"].items()},
        "per_annotator_wall_s": {k: v["seconds"] for k, v in summary["annotators"].items()},
        "errors": {k: v["errors"] for k, v in summary["annotators"].items()},
        "rows": summary["tables"], "kill_markers": kills, "resumed_equal": same,
    }
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if not all(same.values()):
        raise SystemExit("resumed tables differ from the uninterrupted run")


if __name__ == "__main__":
    main()
