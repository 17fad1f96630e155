"""Leave-one-clip-out check of the timing analyzer's smooth-motion constants on the eye-labelled frames.

    .venv/bin/python benchmarks/timing_loso.py        # ~3 min on 2 cores

For every clip with per-frame truth (``benchmarks/labels/**/*.timing.json``), the constants
``MOVING_TILES_MIN`` x ``MOVING_RMS_NOISE`` are picked from a small grid by pooled F1 on the *other*
clips, then the held-out clip is scored with them; the held-out scores are pooled. Prints the default's
score, the leave-one-out score, the choices and the whole grid.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from common import REALDATA, REPO

GRID = list(itertools.product((3, 5, 8), (0.4, 0.6, 0.8)))


def main() -> None:
    import toonset.analyze.timing as timing
    from toonset.config import BuildConfig
    from toonset.evaluate.shots import PRF
    from toonset.evaluate.timing import label_prf
    from toonset.pipeline.single import analyze_video

    labels = [json.loads(p.read_text()) for p in sorted((REPO / "benchmarks" / "labels").rglob("*.timing.json"))]
    labels = [lab for lab in labels if (REALDATA / lab["file"]).exists()]
    if not labels:
        sys.exit(f"no labelled footage under {REALDATA}")
    default = (timing.MOVING_TILES_MIN, timing.MOVING_RMS_NOISE)
    scores: dict[tuple[int, float, str], PRF] = {}
    try:
        for tiles, rms in GRID:
            timing.MOVING_TILES_MIN, timing.MOVING_RMS_NOISE = tiles, rms
            for lab in labels:
                path = REALDATA / lab["file"]
                r = analyze_video(str(path), BuildConfig(), fps=24.0 if path.is_dir() else None)
                starts = [s["start_frame"] for s in r["shots"]]
                scores[(tiles, rms, lab["file"])] = label_prf(r["keyframes"], lab, skip=starts)
    finally:
        timing.MOVING_TILES_MIN, timing.MOVING_RMS_NOISE = default

    def pooled(g: tuple[int, float], files: list[str]) -> PRF:
        total = PRF()
        for f in files:
            total = total + scores[(g[0], g[1], f)]
        return total

    files = [lab["file"] for lab in labels]
    held = PRF()
    print("| held-out clip | chosen (tiles, rms·σ) | held-out P / R / F1 |\n|---|---|---|")
    for f in files:
        rest = [o for o in files if o != f]
        best = max(GRID, key=lambda g: (pooled(g, rest).f1, -abs(g[0] - default[0]) - abs(g[1] - default[1])))
        prf = scores[(best[0], best[1], f)]
        held = held + prf
        print(f"| {f} | {best} | {prf.precision:.3f} / {prf.recall:.3f} / {prf.f1:.3f} |")
    d = pooled(default, files)
    print(f"\ndefault {default}: P {d.precision:.3f} R {d.recall:.3f} F1 {d.f1:.3f}")
    print(f"leave-one-clip-out: P {held.precision:.3f} R {held.recall:.3f} F1 {held.f1:.3f}")
    print("\ngrid (pooled F1 over all clips): " + ", ".join(f"{g}: {pooled(g, files).f1:.3f}" for g in GRID))


if __name__ == "__main__":
    main()
