"""Which frame rate a video has: its nominal rate when the frames sit on a constant grid (CFR), the PTS
average when they do not (VFR).

A 29.97 fps stream in a Matroska file with a 1 ms time base has frame steps of 33 and 34 ms; the average
over its PTS span is 29.982 or so, depending on where the span ends. What the stream *is* is 30000/1001 fps,
and that is what is reported. The decision is made from the PTS steps alone, with the container's rates
(average, guessed, base) as candidates:

* a candidate rate ``R`` fits when every frame lies on the grid ``t0 + k / R`` (one slot per frame) within a
  quarter of a frame: time-base rounding (a tick or two) and field-level telecine cadence (3:2 pulldown puts
  frames up to 0.2 frame off the 24000/1001 grid, without drift) both fit; a genuinely variable stream
  drifts off every constant grid, or skips / repeats slots;
* up to 1% of the steps may be irregular (a skipped slot where packets were lost, a glitch);
* candidates are tried in order, each snapped first to a common rate (24000/1001, 30000/1001, 25, ...) when
  it agrees within 0.1%: the container's rates, then the measured average. The first that fits is the
  nominal rate and the stream is ``cfr``;
* when none fits the stream is ``vfr`` and its rate is the PTS average: steps / (last PTS - first PTS).

Pure functions (numpy and fractions only): the I/O around them is in ``toonset.io.probe`` (packet scan)
and ``toonset.io.decode`` (the steps of the decode pass).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

COMMON_RATES: tuple[Fraction, ...] = tuple(
    Fraction(r) for r in (
        10, 12, 15, 20, Fraction(24000, 1001), 24, 25, Fraction(30000, 1001), 30, Fraction(48000, 1001), 48,
        50, Fraction(60000, 1001), 60, 100, Fraction(120000, 1001), 120,
    )
)
SNAP_TOLERANCE = 1e-3  # relative: a rate within 0.1% of a common rate is that rate
GRID_TOLERANCE = 0.25  # frames: how far a frame may sit off the constant grid (rounding, telecine cadence)
IRREGULAR_SHARE = 0.01  # steps that may be off the grid (lost packets, glitches) before a stream is VFR
MAX_RATE = 1000  # container rates above this (or <= 0) are not frame rates
MAX_DENOMINATOR = 1_000_000
CFR, VFR = "cfr", "vfr"


@dataclass(frozen=True)
class FrameRate:
    fps: Fraction  # the nominal rate (cfr) or the PTS average (vfr)
    mode: str  # "cfr" or "vfr"
    average: Fraction  # steps / PTS span (the nominal rate when there are no steps to measure)

    @property
    def vfr(self) -> bool:
        return self.mode == VFR


def plausible(rate) -> Fraction | None:
    """``rate`` as a Fraction when it can be a frame rate, else None."""
    try:
        if rate is None:
            return None
        r = Fraction(rate)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if r <= 0 or r > MAX_RATE:
        return None
    return r.limit_denominator(MAX_DENOMINATOR) if r.denominator > MAX_DENOMINATOR else r


def snap_rate(rate: Fraction, tolerance: float = SNAP_TOLERANCE) -> Fraction | None:
    """The common rate closest to ``rate`` if it agrees within ``tolerance`` (relative), else None."""
    if rate <= 0:
        return None
    best = min(COMMON_RATES, key=lambda c: abs(float(rate / c) - 1.0))
    return best if abs(float(rate / best) - 1.0) <= tolerance else None


def nominal_rate(hints: Iterable, fallback: Fraction = Fraction(24)) -> Fraction:
    """The rate metadata alone suggest: the first plausible hint, snapped to a common rate when close."""
    for h in hints:
        r = plausible(h)
        if r is not None:
            return snap_rate(r) or r
    return fallback


def average_rate(deltas: np.ndarray, time_base: Fraction | None) -> Fraction | None:
    """Steps / span, exact in time-base units when the time base is known."""
    span = float(deltas.sum())
    if deltas.size == 0 or span <= 0:
        return None
    if time_base:
        ticks = round(span / float(time_base))
        if ticks > 0:
            return plausible(Fraction(int(deltas.size)) / (ticks * Fraction(time_base)))
    return plausible(Fraction(deltas.size / span).limit_denominator(MAX_DENOMINATOR))


def irregular_steps(deltas: np.ndarray, rate: Fraction, tolerance: float = GRID_TOLERANCE) -> int:
    """How many steps do not advance exactly one slot of the grid at ``rate`` (frames off the grid count)."""
    pos = np.concatenate(([0.0], np.cumsum(deltas))) * float(rate)  # in frames since the first frame
    resid = pos - np.rint(pos)
    lo, hi = np.percentile(resid, [1.0, 99.0]) if resid.size >= 100 else (resid.min(), resid.max())
    pos -= (lo + hi) / 2.0  # centre the jitter band: a cadence that is all one side is not drift
    slots = np.rint(pos)
    off = np.abs(pos - slots) > tolerance
    return int(np.count_nonzero((np.diff(slots) != 1) | off[1:]))


def decide_frame_rate(deltas: Sequence[float] | np.ndarray, time_base: Fraction | None = None,
                      hints: Iterable = (), fallback: Fraction = Fraction(24)) -> FrameRate:
    """CFR at a nominal rate, or VFR at the PTS average, from the PTS steps (seconds, presentation order).

    ``time_base`` is the stream's (it makes the average exact); ``hints`` are the container's rates, most
    trusted first (e.g. average, guessed, base rate). With no steps to measure the nominal rate of the
    hints is taken as CFR."""
    hint_list = [r for r in (plausible(h) for h in hints) if r is not None]
    d = np.asarray(deltas, dtype=np.float64)
    d = d[np.isfinite(d)]
    average = average_rate(d, time_base)
    if average is None:
        nominal = nominal_rate(hint_list, fallback)
        return FrameRate(nominal, CFR, nominal)
    allowed = int(d.size * IRREGULAR_SHARE)
    tried: list[Fraction] = []
    for r in [*hint_list, average]:
        for c in (snap_rate(r), r):
            if c is None or c in tried:
                continue
            tried.append(c)
            if irregular_steps(d, c) <= allowed:
                return FrameRate(c, CFR, average)
    return FrameRate(average, VFR, average)
