"""Per-frame timing: is this frame a new drawing or a held one? Hold lengths, keyframes, timing label.

A pixel counts as changed only when it moves outside the 3x3 min/max of the other frame (tolerant to
±1 px film weave and line jitter) by more than a noise-adaptive threshold: ``noise_k`` times a robust
noise scale measured on the same frame pair (so compression noise and grain raise the bar with them).
A frame is a new drawing when the changed share of the picture exceeds ``min_changed_area``.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from toonset.analyze.base import ClipContext
from toonset.analyze.features import noise_scale
from toonset.config import TimingConfig
from toonset.io.frames import DecodedFrame

_K3 = np.ones((3, 3), np.uint8)
LIMITED_AREA = 0.03  # a shot whose new drawings change less than this share is "limited animation"


def changed_share(prev_s: np.ndarray, cur_s: np.ndarray, prev_max: np.ndarray, prev_min: np.ndarray,
                  cur_max: np.ndarray, cur_min: np.ndarray, threshold: float) -> tuple[float, float]:
    """(share of pixels changed beyond ``threshold`` under ±1 px tolerance, mean tolerant change / 255)."""
    c = cur_s.astype(np.int16)
    p = prev_s.astype(np.int16)
    d = np.maximum(np.maximum(c - prev_max, prev_min - c), np.maximum(p - cur_max, cur_min - p))
    np.maximum(d, 0, out=d)
    return float((d > threshold).mean()), float(d.mean() / 255.0)


def timing_label(holds: list[int], areas: list[float]) -> str:
    """ones / twos / threes / mixed / limited / still from a clip's hold lengths and changed areas."""
    if len(holds) <= 1:
        return "still"
    if areas and float(np.median(areas)) < LIMITED_AREA:
        return "limited"
    total = float(sum(holds))
    inner = holds[:-1] if len(holds) > 2 else holds  # the last hold is cut by the shot end
    share = {k: sum(h for h in inner if h == k) / max(1.0, float(sum(inner))) for k in (1, 2, 3)}
    best = max(share, key=share.get)
    if share[best] >= 0.6 and total > 0:
        return {1: "ones", 2: "twos", 3: "threes"}[best]
    return "mixed"


def hold_histogram(holds: list[int]) -> dict[str, float]:
    total = float(sum(holds)) or 1.0
    return {
        "hold_ones": sum(h for h in holds if h == 1) / total,
        "hold_twos": sum(h for h in holds if h == 2) / total,
        "hold_threes": sum(h for h in holds if h == 3) / total,
        "hold_longer": sum(h for h in holds if h >= 4) / total,
    }


class TimingAnalyzer:
    """Clip consumer: keyframes (new drawings), holds, timing label, changed area and motion."""

    name = "timing.tolerant"
    version = "1.0"
    needs_pixels = False

    def __init__(self, cfg: TimingConfig | None = None) -> None:
        self.cfg = cfg or TimingConfig()
        self.frame_changed: list[tuple[int, bool, float]] = []  # (frame, new drawing?, changed share) all clips

    def start_clip(self, clip: ClipContext) -> None:
        self._clip = clip
        self._prev: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._keys: list[int] = []
        self._times: list[float] = []
        self._areas: list[float] = []  # changed share of each keyframe (0 for the first)
        self._all_areas: list[float] = []
        self._motion: list[float] = []
        self._last = clip.start_frame - 1

    def process(self, frame: DecodedFrame) -> None:
        cur = cv2.GaussianBlur(frame.luma, (3, 3), 0.8)
        cur_max, cur_min = cv2.dilate(cur, _K3), cv2.erode(cur, _K3)
        if self._prev is None:
            new, area = True, 0.0
        else:
            prev, prev_max, prev_min = self._prev
            thr = max(6.0, self.cfg.noise_k * max(1.0, noise_scale(prev, cur)))
            area, mag = changed_share(prev, cur, prev_max, prev_min, cur_max, cur_min, thr)
            new = area > self.cfg.min_changed_area
            self._all_areas.append(area)
            self._motion.append(mag)
        if new:
            self._keys.append(frame.index)
            self._times.append(frame.time)
            self._areas.append(area)
        self.frame_changed.append((frame.index, new, area))
        self._prev = (cur, cur_max, cur_min)
        self._last = frame.index

    @property
    def keyframe_indices(self) -> list[int]:
        """Frame indices of the new drawings of the current clip so far."""
        return self._keys

    def end_clip(self) -> dict[str, Any]:
        end = self._last + 1
        holds = [b - a for a, b in zip(self._keys, [*self._keys[1:], end])]
        fields: dict[str, Any] = {
            "num_keyframes": len(self._keys),
            "dynamic_score": len(self._keys) / max(1, end - self._clip.start_frame),
            "timing": timing_label(holds, self._areas[1:]),
            "changed_area": float(np.mean(self._areas[1:])) if len(self._areas) > 1 else 0.0,
            "motion": float(np.mean(self._motion)) if self._motion else 0.0,
            "_keyframes": list(zip(self._keys, holds, self._times, self._areas)),
        }
        fields.update(hold_histogram(holds))
        return fields
