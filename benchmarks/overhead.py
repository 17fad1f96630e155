"""What shots and timing add to decoding, per file: the issue-4 speed budget (≤ 30% of decode-only time).

    .venv/bin/python benchmarks/overhead.py [--set real|synthetic|both] [--repeat 3] [--json out.json]

For every file, one worker's view (1 decoder thread, as each worker of a default build has here):

* ``decode``: PyAV decodes every frame and does nothing else;
* ``reader``: toonset's decode pass — the same decoding plus the analysis-size luma/chroma, the still
  test and the frame delta every analyzer shares (deblocking is skipped when no media is written);
* ``shots``, ``timing``, ``fingerprint``, ``compat``: each analyzer's cost on the reader's frames, kept in
  memory so the decoder's noise does not enter the difference (best of ``--repeat``).

Reported as µs per frame and as a share of ``decode``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from common import best_of, real_and_synthetic_sets
from throughput import REAL_FILES


def decode_only(path: Path) -> None:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        s.codec_context.thread_count = 1
        for _ in c.decode(s):
            pass


def read_frames(path: Path) -> tuple[list, float]:
    from toonset.config import BuildConfig
    from toonset.ingest.local import SourceRef
    from toonset.io.decode import open_reader

    with open_reader(SourceRef(str(path)), BuildConfig().decode, threads=1, compat=True) as r:
        return list(r.frames()), float(r.fps)


def analyze(frames: list, fps: float, parts: set[str]) -> None:
    from toonset.analyze.compat import SakugaCompat
    from toonset.analyze.fingerprint import ClipFingerprint
    from toonset.analyze.router import ClipRouter
    from toonset.analyze.timing import TimingAnalyzer
    from toonset.config import BuildConfig
    from toonset.pipeline.analyze_stage import make_segmenter

    cfg = BuildConfig()
    timing = TimingAnalyzer(cfg.timing)
    consumers = []
    if "timing" in parts:
        consumers.append(timing)
    if "fingerprint" in parts:
        consumers.append(ClipFingerprint(timing))
    if "compat" in parts:
        consumers.append(SakugaCompat(cfg.timing.sakuga_ssim))
    router = ClipRouter(make_segmenter(cfg, fps), consumers, lambda span, fields: None, "bench", fps)
    for f in frames:
        router.push(f)
    router.finish(frames[-1].time + 1.0 / fps)


def measure(path: Path, repeat: int) -> dict:
    t_dec = best_of(lambda: decode_only(path), repeat)
    t_read = best_of(lambda: read_frames(path), repeat)
    frames, fps = read_frames(path)
    n = len(frames)
    steps = [("shots", set()), ("timing", {"timing"}), ("fingerprint", {"timing", "fingerprint"}),
             ("compat", {"timing", "fingerprint", "compat"})]
    cum = [best_of(lambda p=p: analyze(frames, fps, p), repeat) for _, p in steps]
    us = {"decode": t_dec / n * 1e6, "reader": (t_read - t_dec) / n * 1e6}
    prev = 0.0
    for (name, _), c in zip(steps, cum):
        us[name] = (c - prev) / n * 1e6
        prev = c
    return {"file": path.name, "frames": n, "us_per_frame": {k: round(v, 1) for k, v in us.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="both", choices=["real", "synthetic", "both"])
    ap.add_argument("--synthetic", type=int, default=12)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache", default=str(Path(__file__).resolve().parent / "results"))
    ap.add_argument("--json", help="write results here")
    args = ap.parse_args()
    sets = real_and_synthetic_sets(args.set, REAL_FILES, args.synthetic, args.seed, Path(args.cache), args.size)
    keys = ["decode", "reader", "shots", "timing", "fingerprint", "compat"]
    print("| set | file | frames | decode µs/frame | reader | shots | timing | fingerprint | compat | "
          "shots+timing / decode | all analysis / decode |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    out = []
    for name, files in sets:
        total = {k: 0.0 for k in keys}
        frames = 0
        for f in files:
            r = measure(f, args.repeat)
            r["set"] = name
            out.append(r)
            u = r["us_per_frame"]
            for k in keys:
                total[k] += u[k] * r["frames"]
            frames += r["frames"]
            print(_row(name, r["file"], r["frames"], u))
        print(_row(name, "**all (frame-weighted)**", frames, {k: v / frames for k, v in total.items()}))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


def _row(name: str, file: str, frames: int, u: dict) -> str:
    st = (u["shots"] + u["timing"]) / u["decode"]
    allx = (u["reader"] + u["shots"] + u["timing"] + u["fingerprint"] + u["compat"]) / u["decode"]
    return (f"| {name} | {file} | {frames} | {u['decode']:.0f} | {u['reader']:+.0f} | {u['shots']:+.0f} | "
            f"{u['timing']:+.0f} | {u['fingerprint']:+.0f} | {u['compat']:+.0f} | {st:.0%} | {allx:.0%} |")


if __name__ == "__main__":
    main()
