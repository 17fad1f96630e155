"""Sakuga-42M compatibility: count keyframes with their rule (64x64 luma SSIM < 0.95 vs the previous frame).

Kept so ``dynamic_score`` can be compared with the published dataset. The 64x64 thumbnails are made in
the decode pass from the full-resolution luma plane (see ``toonset.analyze.features.compat_thumb``).
"""

from __future__ import annotations

from typing import Any

from toonset.analyze.base import ClipContext
from toonset.analyze.features import SsimStats, ssim_stats
from toonset.io.frames import DecodedFrame


class SakugaCompat:
    name = "timing.sakuga42m"
    version = "1.0"
    needs_pixels = False

    def __init__(self, threshold: float = 0.95) -> None:
        self.threshold = threshold

    def start_clip(self, clip: ClipContext) -> None:
        self._prev: SsimStats | None = None
        self._count = 0

    def process(self, frame: DecodedFrame) -> None:
        thumb = frame.compat
        if thumb is None:  # a still frame (the reader made no thumbnail): SSIM ~1, never a new keyframe
            return
        cur = SsimStats(thumb)
        if self._prev is None or ssim_stats(self._prev, cur) < self.threshold:
            self._count += 1
        self._prev = cur

    def end_clip(self) -> dict[str, Any]:
        return {"sakuga_keyframes": self._count}
