"""Analyse one video without writing a dataset: what ``toonset shots`` and ``toonset timing`` print."""

from __future__ import annotations

import os
import time
from typing import Any

from toonset.analyze.router import ClipRouter, ClipSpan
from toonset.analyze.timing import TimingAnalyzer
from toonset.config import BuildConfig
from toonset.errors import UsageError
from toonset.ingest.local import SourceRef, is_frame_folder
from toonset.io.decode import frame_runs, open_reader
from toonset.pipeline.analyze_stage import make_segmenter


def analyze_video(path: str, cfg: BuildConfig | None = None, fps: float | None = None) -> dict[str, Any]:
    """Shots (with transitions) and per-frame timing of one video or frame folder, in one decode pass."""
    cfg = cfg or BuildConfig()
    full = os.path.abspath(path)
    if not os.path.lexists(full):
        raise UsageError(f"input not found: {path}")
    kind = "frames" if os.path.isdir(full) and is_frame_folder(full) else "file"
    reader = open_reader(SourceRef(full, kind, fps), cfg.decode)
    t0 = time.perf_counter()
    with reader:
        segmenter = make_segmenter(cfg, float(reader.fps))
        timing = TimingAnalyzer(cfg.timing)
        spans: list[tuple[ClipSpan, dict[str, Any]]] = []
        router = ClipRouter(segmenter, [timing], lambda s, f: spans.append((s, f)), "video", float(reader.fps))
        for run in frame_runs(reader):
            router.push_run(run)
        router.finish(reader.end_time)
        n = reader.frame_count
        rate = reader.frame_rate  # nominal (cfr) or PTS average (vfr)
        fps_frac = rate.fps
    elapsed = time.perf_counter() - t0
    shots = [
        {
            "start_frame": s.ctx.start_frame, "end_frame": s.end_frame,
            "start_time": round(s.ctx.start_time, 6), "end_time": round(s.end_time, 6),
            "transition": s.transition_in, "transition_out": s.transition_out,
            "timing": f["timing"], "num_keyframes": f["num_keyframes"],
        }
        for s, f in spans
    ]
    in_clip = {i: False for i in range(n)}
    keys: list[int] = []
    for s, f in spans:
        for i in range(s.ctx.start_frame, s.end_frame):
            in_clip[i] = True
        keys.extend(k[0] for k in f["_keyframes"])
    keys.extend(i for i, inside in in_clip.items() if not inside)  # transition frames: each its own image
    keys = sorted(set(keys))
    holds = [b - a for a, b in zip(keys, [*keys[1:], n])]
    return {
        "path": full,
        "fps": float(fps_frac),
        "fps_fraction": f"{fps_frac.numerator}/{fps_frac.denominator}",
        "fps_mode": rate.mode,
        "frame_count": n,
        "shots": shots,
        "transitions": [
            {"type": b.kind, "start_frame": b.start, "end_frame": b.end} for b in segmenter.boundaries
        ],
        "keyframes": keys,
        "holds": holds,
        "detector": {"method": cfg.shots.method, "name": segmenter.name, "version": segmenter.version},
        "elapsed_s": round(elapsed, 3),
    }
