"""Sakuga-42M compatibility: count keyframes with their rule (64x64 luma SSIM < 0.95 vs the previous frame).

Kept so ``dynamic_score`` can be compared with the published dataset. The 64x64 thumbnails are made in
the decode pass from the full-resolution luma plane (see ``toonset.analyze.features.compat_thumb``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from toonset.analyze.base import ClipContext
from toonset.analyze.features import ssim64
from toonset.io.frames import DecodedFrame


class SakugaCompat:
    name = "timing.sakuga42m"
    version = "1.0"
    needs_pixels = False

    def __init__(self, threshold: float = 0.95) -> None:
        self.threshold = threshold

    def start_clip(self, clip: ClipContext) -> None:
        self._prev: np.ndarray | None = None
        self._count = 0

    def process(self, frame: DecodedFrame) -> None:
        thumb = frame.compat
        if thumb is None:
            return
        if frame.still and self._prev is not None:
            return  # the same picture: SSIM would be ~1, never a new keyframe
        if self._prev is None or ssim64(self._prev, thumb) < self.threshold:
            self._count += 1
        self._prev = thumb

    def end_clip(self) -> dict[str, Any]:
        return {"sakuga_keyframes": self._count}
