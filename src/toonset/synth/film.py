"""Film defects applied after rendering: grain (fresh noise every frame) and gate weave (frame jitter)."""

from __future__ import annotations

import cv2
import numpy as np


def weave_offset(rng: np.random.Generator, weave: float) -> tuple[int, int]:
    """A random whole-pixel shift (dx, dy) with each component in [-floor(weave), floor(weave)]."""
    reach = int(weave)
    if reach == 0:
        return (0, 0)
    dx, dy = rng.integers(-reach, reach + 1, 2)
    return (int(dx), int(dy))


def shift(frame: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``frame`` with its content moved by (dx, dy) pixels; the uncovered border repeats the edge."""
    if dx == 0 and dy == 0:
        return frame
    pad = max(abs(dx), abs(dy))
    h, w = frame.shape[:2]
    padded = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    return padded[pad - dy : pad - dy + h, pad - dx : pad - dx + w]


def add_grain(frame: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """``frame`` plus monochrome gaussian noise of std-dev ``sigma`` 8-bit levels, clipped to [0, 255]."""
    if sigma <= 0:
        return frame
    noise = rng.standard_normal(frame.shape[:2], dtype=np.float32) * np.float32(sigma)
    return np.clip(frame.astype(np.float32) + noise[:, :, None], 0, 255).astype(np.uint8)
