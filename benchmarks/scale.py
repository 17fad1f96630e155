"""Ray executor vs local executor: same synthetic set, same number of workers, one run side by side.

    .venv/bin/python benchmarks/scale.py [--count 24] [--size 640x360] [--workers 2] [--rounds 2] [--media]

Each round runs ``toonset build`` with the local executor and with ``--executor ray`` (a private Ray
instance started on 127.0.0.1 and shut down by the build), in alternating order so slow drift on a shared
machine hits both alike. Reports frames/s end to end (process start to exit, Ray start-up included) and of
the executor alone (``elapsed_s`` of the summary), the Ray/local ratio of each, Ray's fixed start-up cost
(a one-video build with each executor) and the ratio once it is paid, checks that both datasets are
identical, and the CPU time of the local build per million frames (all its processes, user + system).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from common import REPO

TABLES = ("sources", "clips", "keyframes", "errors", "filtered")


def make_set(folder: Path, count: int, width: int, height: int) -> list[Path]:
    from toonset.synth import SynthOptions, generate_set

    if (folder / "done").exists():
        return sorted(folder.glob("*.mp4"))
    opts = SynthOptions(width=width, height=height, num_shots=8)
    paths = generate_set(folder, count=count, seed=7, options=opts)
    (folder / "done").write_text("ok")
    return paths


def build(inputs: Path, out: Path, executor: str, workers: int, media: bool) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "toonset", "build", str(inputs), "-o", str(out), "--workers", str(workers),
           "--executor", executor, "--json", "-q"]
    if not media:
        cmd.append("--no-media")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-3000:])
    summary = json.loads(r.stdout)
    frames = summary["counts"]["frames"]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"executor": executor, "frames": frames, "wall_s": round(wall, 2), "elapsed_s": summary["elapsed_s"],
            "fps_end_to_end": frames / wall, "fps_executor": frames / summary["elapsed_s"], "cpu_s": cpu}


def same_dataset(a: Path, b: Path) -> bool:
    import pyarrow.parquet as pq

    return all(pq.read_table(a / f"{t}.parquet").equals(pq.read_table(b / f"{t}.parquet")) for t in TABLES)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=24, help="synthetic videos in the set")
    ap.add_argument("--size", default="640x360", help="WxH of the synthetic videos")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--media", action="store_true", help="also write clip media (default: tables only)")
    ap.add_argument("--cache", default=str(REPO / "benchmarks" / "results" / "cache"))
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    cache = Path(args.cache)
    inputs = cache / f"scale-set-{args.count}-{w}x{h}"
    make_set(inputs, args.count, w, h)
    runs: list[dict] = []
    for i in range(args.rounds):
        order = ("local", "ray") if i % 2 == 0 else ("ray", "local")
        for executor in order:
            r = build(inputs, cache / f"out-scale-{executor}", executor, args.workers, args.media)
            runs.append(r)
            print(f"round {i + 1} {executor:5s}: {r['frames']} frames, {r['wall_s']:.1f} s end to end "
                  f"({r['fps_end_to_end']:.0f} fps), executor {r['elapsed_s']:.1f} s ({r['fps_executor']:.0f} fps)",
                  flush=True)
    identical = same_dataset(cache / "out-scale-local", cache / "out-scale-ray")
    # fixed cost of each executor (start-up, shut-down): a build of one short video
    one = cache / "scale-one"
    if not one.exists():
        one.mkdir()
        os.symlink(sorted(inputs.glob("*.mp4"))[0], one / "one.mp4")
    fixed = {ex: min(build(one, cache / f"out-scale-one-{ex}", ex, args.workers, args.media)["elapsed_s"]
                     for _ in range(2)) for ex in ("local", "ray")}
    overhead = fixed["ray"] - fixed["local"]

    def best(executor: str, key: str) -> float:
        return max(r[key] for r in runs if r["executor"] == executor)

    local_cpu = min(r["cpu_s"] for r in runs if r["executor"] == "local")
    frames = runs[0]["frames"]
    result = {
        "set": {"videos": args.count, "size": args.size, "frames": frames, "media": args.media},
        "workers": args.workers, "runs": runs, "identical_tables": identical,
        "ratio_end_to_end": best("ray", "fps_end_to_end") / best("local", "fps_end_to_end"),
        "ratio_executor": best("ray", "fps_executor") / best("local", "fps_executor"),
        "local_cpu_s_per_million_frames": local_cpu / frames * 1e6,
        "ray_fixed_overhead_s": overhead,
        "ratio_after_startup": min(r["elapsed_s"] for r in runs if r["executor"] == "local")
        / (min(r["elapsed_s"] for r in runs if r["executor"] == "ray") - overhead),
    }
    print(f"Ray/local throughput: {result['ratio_end_to_end']:.2f}x end to end, "
          f"{result['ratio_executor']:.2f}x executor only (best of {args.rounds}); identical tables: {identical}")
    print(f"Ray fixed start-up/shut-down cost: {overhead:.1f} s; Ray/local after it: "
          f"{result['ratio_after_startup']:.2f}x")
    print(f"local CPU: {result['local_cpu_s_per_million_frames']:.0f} s per million frames "
          f"({args.size}, {'with' if args.media else 'no'} media)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
