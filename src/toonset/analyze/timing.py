"""Per-frame timing: is this frame a new drawing or a held one? Hold lengths, keyframes, timing label.

Measured on the ``detail`` luma (twice the analysis width, e.g. 320 px) so a mouth flap counts:

* **Content change** — a pixel changes only when it leaves the 3x3 min/max of the other frame (tolerant to
  ±1 px line jitter) by more than ``noise_k`` times a robust noise scale measured on the same frame pair,
  so compression noise and film grain raise the bar with them. A frame is a new drawing when the changed
  share exceeds ``min_changed_area``.
* **Film weave** — when the whole picture shifted (phase correlation), the comparison is redone after
  undoing that shift, so gate weave of a film scan is not mistaken for new drawings.
* **Camera moves** — a consistent global shift (a pan over a held cel) makes every moved frame a new
  image; random back-and-forth shifts (weave) do not.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

import cv2
import numpy as np

from toonset.analyze.base import ClipContext
from toonset.analyze.features import noise_and_mad
from toonset.analyze.local_motion import RMS_MIN, local_motion
from toonset.config import TimingConfig
from toonset.io.frames import DecodedFrame

_K3 = np.ones((3, 3), np.uint8)
LIMITED_AREA = 0.006  # new drawings that change less of the picture than this: "limited animation"
SHIFT_MIN = 0.6  # detail pixels: smaller global shifts are noise
SHIFT_RADIUS = 6  # detail pixels: the largest weave or pan step measured
WEAVE_WINDOW = 24  # frames of recent noise estimates
MOVING_TILES_MIN = 5  # coherent-motion tiles (16 px of ~320) that make a frame new ...
MOVING_SHARE_MIN = 0.012  # ... and their least share of all tiles
MOVING_RMS_NOISE = 0.6  # explained change must stand this far above the pair's noise sigma


def tolerant_exceed(prev: np.ndarray, pmax: np.ndarray, pmin: np.ndarray, cur: np.ndarray,
                    cmax: np.ndarray, cmin: np.ndarray, threshold: float) -> tuple[int, float]:
    """(pixels changed beyond ``threshold`` outside the other frame's 3x3 range, mean such change / 255).

    Saturating uint8 arithmetic: of ``cur - pmax`` and ``pmin - cur`` at most one is positive."""
    d1 = cv2.add(cv2.subtract(cur, pmax), cv2.subtract(pmin, cur))
    d2 = cv2.add(cv2.subtract(prev, cmax), cv2.subtract(cmin, prev))
    d = cv2.max(d1, d2)
    _, mask = cv2.threshold(d, threshold, 255, cv2.THRESH_BINARY)
    return cv2.countNonZero(mask), float(cv2.mean(d)[0]) / 255.0


def profiles(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero-mean column and row profiles (mean of each column / row) of an image, as 1xN float32."""
    out = []
    for axis in (0, 1):
        p = cv2.reduce(img, axis, cv2.REDUCE_AVG, dtype=cv2.CV_32F).reshape(1, -1)
        out.append(cv2.subtract(p, cv2.mean(p)[0]))
    return out[0], out[1]


def profile_shift(pa: np.ndarray, pb: np.ndarray, radius: int) -> float:
    """Sub-pixel shift of profile ``pb`` against ``pa`` within ±radius (0 when too short to tell)."""
    n = pa.shape[1]
    if n <= 4 * radius:
        return 0.0
    costs = cv2.matchTemplate(pb, pa[:, radius : n - radius], cv2.TM_SQDIFF).ravel()  # index i ↔ shift i - r
    i = int(np.argmin(costs))
    sub = 0.0
    if 0 < i < len(costs) - 1:
        c0, c1, c2 = float(costs[i - 1]), float(costs[i]), float(costs[i + 1])
        den = c0 - 2 * c1 + c2
        if den > 1e-9:
            sub = 0.5 * (c0 - c2) / den
    return i - radius + sub


def global_shift(prev: np.ndarray, cur: np.ndarray, radius: int = 6) -> tuple[float, float]:
    """Translation (dx, dy) of ``cur`` relative to ``prev`` in pixels, from column and row profiles: cheap
    and exact for gate weave and camera pans over a held background."""
    (px, py), (cx, cy) = profiles(prev), profiles(cur)
    return profile_shift(px, cx, radius), profile_shift(py, cy, radius)


class _Pic:
    """One frame as the timing analyzer compares it (profiles made on first use)."""

    __slots__ = ("_prof", "blur", "delta", "hi", "lo", "luma")

    def __init__(self, detail: np.ndarray, luma: np.ndarray, delta: tuple[float, float] | None = None) -> None:
        self.delta = delta  # (noise σ, mean |Δ|) against the previous decoded frame, when the reader knew it
        self.blur = cv2.blur(detail, (3, 3))
        self.hi = cv2.dilate(self.blur, _K3)
        self.lo = cv2.erode(self.blur, _K3)
        self.luma = luma
        self._prof: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def prof(self) -> tuple[np.ndarray, np.ndarray]:
        if self._prof is None:
            self._prof = profiles(self.blur)
        return self._prof


def overlap(a: np.ndarray, dx: int, dy: int) -> tuple[slice, slice]:
    """Slices of the region of ``a`` that stays in frame when content moves by (dx, dy)."""
    h, w = a.shape[:2]
    ys = slice(max(0, dy), h + min(0, dy))
    xs = slice(max(0, dx), w + min(0, dx))
    return ys, xs


def aligned(prev: _Pic, cur: _Pic, shift: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The blurred pictures of two frames on the part both show, with their integer global shift undone
    (measured from the profiles unless the caller already knows it)."""
    if shift is None:
        shift = (round(profile_shift(prev.prof[0], cur.prof[0], SHIFT_RADIUS)),
                 round(profile_shift(prev.prof[1], cur.prof[1], SHIFT_RADIUS)))
    sx, sy = shift
    if not (sx or sy):
        return prev.blur, cur.blur
    cy, cx = overlap(cur.blur, sx, sy)
    py, px = overlap(cur.blur, -sx, -sy)
    return prev.blur[py, px], cur.blur[cy, cx]


def timing_label(holds: list[int], areas: list[float]) -> str:
    """ones / twos / threes / mixed / limited / still from a clip's hold lengths and changed areas.

    Long holds (≥ 5 frames) are held drawings, not the animation's timing, so the label comes from the
    frames of the shorter holds; the last hold is cut by the shot end and ignored."""
    if len(holds) <= 1:
        return "still"
    if areas and float(np.median(areas)) < LIMITED_AREA:
        return "limited"
    moving = [h for h in holds[:-1] if h <= 4] or [h for h in holds if h <= 4]
    total = float(sum(moving))
    if not total:
        return "mixed"
    share = {k: sum(h for h in moving if h == k) / total for k in (1, 2, 3)}
    best = max(share, key=share.get)
    return {1: "ones", 2: "twos", 3: "threes"}[best] if share[best] >= 0.6 else "mixed"


def hold_histogram(holds: list[int]) -> dict[str, float]:
    total = float(sum(holds)) or 1.0
    return {
        "hold_ones": sum(h for h in holds if h == 1) / total,
        "hold_twos": sum(h for h in holds if h == 2) / total,
        "hold_threes": sum(h for h in holds if h == 3) / total,
        "hold_longer": sum(h for h in holds if h >= 4) / total,
    }


class TimingAnalyzer:
    """Clip consumer: keyframes (new drawings), holds, timing label, changed area and motion.

    Frames are measured as they stream by; the decisions are taken at ``end_clip`` with the whole clip in
    view, so telling gate weave (shifts that jump back and forth) from a pan (shifts that keep their
    direction) can use frames on both sides."""

    name = "timing.tolerant"
    version = "2.2"
    needs_pixels = False

    def __init__(self, cfg: TimingConfig | None = None) -> None:
        self.cfg = cfg or TimingConfig()
        self._noise: deque[float] = deque(maxlen=WEAVE_WINDOW)
        self._keys: list[int] = []
        # frames of the current clip that cannot become keyframes at ``end_clip`` (neither changed nor moved)
        self.ruled_out: set[int] = set()

    def start_clip(self, clip: ClipContext) -> None:
        self._clip = clip
        self._prev: _Pic | None = None
        self._first: tuple[int, float] | None = None
        # per later frame: (index, time, content changed?, changed share, moved?, shift x, shift y, smooth?)
        self._obs: list[tuple[int, float, bool, float, bool, int, int, bool]] = []
        self._motion: list[float] = []
        self._keys = []
        self.ruled_out = set()
        self._last = clip.start_frame - 1

    def _judge(self, prev: _Pic, cur: _Pic) -> tuple[bool, float, float, bool, int, int, bool]:
        """(content changed?, changed share, change magnitude, moved?, shift x, shift y, smooth motion?) of a
        frame pair; a change seen only as smooth motion is ``changed`` and ``smooth``."""
        p, pmax, pmin = prev.blur, prev.hi, prev.lo
        c, cmax, cmin = cur.blur, cur.hi, cur.lo
        # σ from the analysis luma: a quarter of the pixels, and its 2x2 averaging matches the 3x3 blur well
        pair_noise, mad = cur.delta or noise_and_mad(prev.luma, cur.luma)
        self._noise.append(pair_noise)
        # the pair's own estimate fails when most of the picture changes (a flash): cap it by the recent level
        recent = sorted(self._noise)
        noise = min(pair_noise, 1.5 * recent[len(recent) // 2] + 1.0)
        thr = max(6.0, self.cfg.noise_k * max(1.0, noise))
        n, mag = tolerant_exceed(p, pmax, pmin, c, cmax, cmin, thr)
        area = n / c.size
        if area <= self.cfg.min_changed_area and mad < 1.5 * noise + 1.0:
            smooth = self._coherent_share(prev, cur, thr)  # see below
            return bool(smooth), max(area, smooth), mag, False, 0, 0, bool(smooth)
        dx = profile_shift(prev.prof[0], cur.prof[0], SHIFT_RADIUS)
        dy = profile_shift(prev.prof[1], cur.prof[1], SHIFT_RADIUS)
        sx, sy = round(dx), round(dy)
        moved = abs(dx) >= SHIFT_MIN or abs(dy) >= SHIFT_MIN
        if (sx or sy) and area > self.cfg.min_changed_area:
            # redo the comparison with the shift undone, on the part of the picture both frames show
            cy, cx = overlap(c, sx, sy)
            py, px = overlap(c, -sx, -sy)
            n, mag = tolerant_exceed(p[py, px], pmax[py, px], pmin[py, px], c[cy, cx], cmax[cy, cx],
                                     cmin[cy, cx], thr)
            area = n / c.size
        changed = area > self.cfg.min_changed_area
        smooth = 0.0
        if not (changed or moved):
            # sub-pixel motion stays inside the 3x3 tolerance: when enough pixels still change beyond the
            # noise bar, ask whether the change is coherent motion (see ``local_motion``)
            smooth = self._coherent_share(prev, cur, thr, (sx, sy))
        return (changed or bool(smooth), max(area, smooth), mag, moved, (sx if moved else 0), (sy if moved else 0),
                bool(smooth))

    def _coherent_share(self, prev: _Pic, cur: _Pic, thr: float, shift: tuple[int, int] | None = None) -> float:
        """Share of the picture in tiles that moved coherently since ``prev`` (0 when too few to count).

        Only asked when the jitter-tolerant test saw no change. Integer global shifts (gate weave) are
        undone first; sub-pixel ones are removed inside ``local_motion``; the explained change must stand
        ``MOVING_RMS_NOISE`` times the pair's noise above it (grain fits a few tiles by chance)."""
        p, c = prev.blur, cur.blur
        plain = cv2.countNonZero(cv2.threshold(cv2.absdiff(p, c), thr, 255, cv2.THRESH_BINARY)[1])
        if plain <= self.cfg.min_changed_area * c.size:
            return 0.0  # nothing beyond the noise bar at all: a hold (the cheap, common answer)
        rms = max(RMS_MIN, MOVING_RMS_NOISE * self._noise[-1])
        last = local_motion(*aligned(prev, cur, shift), rms_min=rms)
        if last.moving < max(MOVING_TILES_MIN, MOVING_SHARE_MIN * last.tiles):
            return 0.0
        return last.moving / max(1, last.tiles)

    def process(self, frame: DecodedFrame) -> None:
        self._last = frame.index
        if frame.still and self._prev is not None:
            # the same picture again (a held drawing on a clean source): nothing new, nothing to recompute
            self._motion.append(0.0)
            self._obs.append((frame.index, frame.time, False, 0.0, False, 0, 0, False))
            self.ruled_out.add(frame.index)
            return
        cur = _Pic(frame.detail if frame.detail is not None else frame.luma, frame.luma, frame.delta)
        if self._prev is None:
            self._first = (frame.index, frame.time)
        else:
            changed, area, mag, moved, sx, sy, smooth = self._judge(self._prev, cur)
            self._motion.append(mag)
            self._obs.append((frame.index, frame.time, changed, area, moved, sx, sy, smooth))
            if not (changed or moved):  # see ``end_clip``: keyframes changed or moved
                self.ruled_out.add(frame.index)
        self._prev = cur

    @staticmethod
    def camera_moves(shifts: list[tuple[int, int]], window: int = 3) -> list[bool]:
        """For each frame's global shift: does it belong to a camera move rather than to gate weave?

        Without weave (shifts rarely reverse) every shift is a move. With weave, a shift counts only when
        the shifts around it (±``window`` frames) drift the same way by at least a pixel per frame on
        average — a pan faster than the jitter."""
        moves = [s for s in shifts if s != (0, 0)]
        flips = sum(1 for a, b in itertools.pairwise(moves) if a[0] * b[0] < 0 or a[1] * b[1] < 0)
        if len(moves) < 4 or flips < 0.3 * (len(moves) - 1):
            return [s != (0, 0) for s in shifts]
        out = []
        for i, (sx, sy) in enumerate(shifts):
            near = shifts[max(0, i - window) : i + window + 1]
            ok = False
            for axis, own in ((0, sx), (1, sy)):
                vals = sorted(v[axis] for v in near)
                mean = sum(vals) / len(vals)
                median = vals[len(vals) // 2]
                ok = ok or (own * mean > 0 and abs(mean) >= 1.0 and abs(median) >= 1)
            out.append(ok)
        return out

    @staticmethod
    def smooth_runs(smooth: list[bool]) -> list[bool]:
        """For each frame changed only by smooth motion: is it in a run of at least two such frames?

        Continuous motion (3DCG, a slow move on ones) keeps going; jitter that a single pair happens to
        fit (line boil redrawn on twos, grain on a held drawing) does not come twice in a row."""
        n = len(smooth)
        return [s and ((i > 0 and smooth[i - 1]) or (i + 1 < n and smooth[i + 1])) for i, s in enumerate(smooth)]

    @property
    def keyframe_indices(self) -> list[int]:
        """Frame indices of the new drawings of the current clip (complete after ``end_clip``)."""
        return self._keys

    def end_clip(self) -> dict[str, Any]:
        end = self._last + 1
        camera = self.camera_moves([(o[5], o[6]) for o in self._obs])
        keyframes: list[tuple[int, float, float]] = [(*self._first, 0.0)] if self._first else []
        smooth = self.smooth_runs([o[7] for o in self._obs])
        for o, cam, run in zip(self._obs, camera, smooth):
            if (o[2] and (run or not o[7])) or (o[4] and cam):
                keyframes.append((o[0], o[1], o[3]))
        self._keys = [k[0] for k in keyframes]
        holds = [b - a for a, b in zip(self._keys, [*self._keys[1:], end])]
        areas = [k[2] for k in keyframes]
        fields: dict[str, Any] = {
            "num_keyframes": len(keyframes),
            "dynamic_score": len(keyframes) / max(1, end - self._clip.start_frame),
            "timing": timing_label(holds, areas[1:]),
            "changed_area": float(np.mean(areas[1:])) if len(areas) > 1 else 0.0,
            "motion": float(np.mean(self._motion)) if self._motion else 0.0,
            "_keyframes": [(k[0], h, k[1], k[2]) for k, h in zip(keyframes, holds)],
        }
        fields.update(hold_histogram(holds))
        return fields
