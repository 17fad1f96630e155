"""Film defects applied after rendering: grain (fresh noise every frame), gate weave (frame jitter) and
flicker (a fresh brightness gain every frame); and the presentation of a picture: black-and-white, and
black bars around it (pillarbox or letterbox)."""

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


def flicker(frame: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """``frame`` times a random brightness gain ``1 + strength * N(0, 1)`` (kept within [0.5, 1.5])."""
    if strength <= 0:
        return frame
    gain = np.float32(np.clip(1 + strength * rng.standard_normal(), 0.5, 1.5))
    return np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def to_mono(frame: np.ndarray) -> np.ndarray:
    """``frame`` in black and white: every channel set to its luma (ITU-R BT.601 weights)."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return np.repeat(grey[:, :, None], 3, axis=2)


def frame_with_bars(
    picture: np.ndarray, box: tuple[int, int, int, int], width: int, height: int
) -> np.ndarray:
    """A black ``width`` x ``height`` frame with ``picture`` placed in ``box`` = (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    out = np.zeros((height, width, 3), np.uint8)
    out[y0:y1, x0:x1] = picture
    return out


def black_bars(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``frame`` (a copy) with everything outside ``box`` set to black again (after grain, weave...)."""
    x0, y0, x1, y1 = box
    out = frame.copy()
    out[:y0], out[y1:], out[:, :x0], out[:, x1:] = 0, 0, 0, 0
    return out
