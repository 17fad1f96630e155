"""Whole-frame effects inside a shot: impact/flash frames and explosion bursts (neither is a cut).

The ``*_over`` flash styles draw the speed lines over the scene itself (it stays visible underneath);
they are used only by stress videos, in impact runs that mix them with plain white or black frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from toonset.synth.palette import BLACK, OUTLINE, WHITE, Color

FlashStyle = Literal[
    "white", "black", "invert", "speed_radial", "speed_parallel", "speed_radial_over", "speed_parallel_over"
]
FLASH_STYLES: tuple[FlashStyle, ...] = ("white", "black", "invert", "speed_radial", "speed_parallel")
PLAIN_STYLES: tuple[FlashStyle, ...] = ("white", "black")
OVERLAY_STYLES: tuple[FlashStyle, ...] = ("speed_radial_over", "speed_parallel_over")


def flash_frame(style: FlashStyle, frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The impact frame that replaces ``frame``: flat white/black, inverted, black-on-white speed lines, or
    (``*_over``) speed lines drawn over ``frame`` itself."""
    if style == "invert":
        return 255 - frame
    if style in OVERLAY_STYLES:
        over = frame.copy()
        ink = BLACK if rng.random() < 0.6 else WHITE
        if style == "speed_radial_over":
            _radial_lines(over, rng, ink)
        else:
            _parallel_lines(over, rng, ink)
        return over
    out = np.empty_like(frame)
    out[:] = BLACK if style == "black" else WHITE
    if style == "speed_radial":
        _radial_lines(out, rng)
    elif style == "speed_parallel":
        _parallel_lines(out, rng)
    return out


def _radial_lines(canvas: np.ndarray, rng: np.random.Generator, ink: Color = BLACK) -> None:
    """Black wedges converging on a focus point near the centre (manga "focus lines")."""
    h, w = canvas.shape[:2]
    cx, cy = w * rng.uniform(0.35, 0.65), h * rng.uniform(0.35, 0.65)
    outer, inner = float(np.hypot(w, h)), h * rng.uniform(0.2, 0.35)
    for angle in np.sort(rng.uniform(0, 2 * math.pi, int(rng.integers(30, 50)))):
        half = rng.uniform(0.01, 0.035)
        reach = inner * rng.uniform(0.9, 1.6)
        tip = (cx + reach * math.cos(angle), cy + reach * math.sin(angle))
        left = (cx + outer * math.cos(angle - half), cy + outer * math.sin(angle - half))
        right = (cx + outer * math.cos(angle + half), cy + outer * math.sin(angle + half))
        cv2.fillPoly(canvas, [np.array([tip, left, right], np.int32)], ink, cv2.LINE_AA)


def _parallel_lines(canvas: np.ndarray, rng: np.random.Generator, ink: Color = BLACK) -> None:
    """Horizontal black streaks of random length and weight (a fast-motion background)."""
    h, w = canvas.shape[:2]
    for _ in range(int(rng.integers(25, 45))):
        y = int(rng.integers(0, h))
        x0 = int(rng.integers(-w // 2, w // 2))
        length = int(rng.integers(w // 3, w))
        cv2.line(canvas, (x0, y), (x0 + length, y), ink, int(rng.integers(1, 5)), cv2.LINE_AA)


@dataclass(frozen=True)
class Burst:
    """The look of one explosion: where it is, how big it gets and its spike pattern."""

    cx: float
    cy: float
    max_radius: float
    spikes: np.ndarray  # relative outer radius of each spike, in [0.75, 1.15]
    spin: float  # radians turned per frame


def random_burst(rng: np.random.Generator, width: int, height: int) -> Burst:
    """A burst centred in the middle part of a ``width`` x ``height`` frame that grows to cover much of it."""
    return Burst(
        cx=width * rng.uniform(0.3, 0.7),
        cy=height * rng.uniform(0.35, 0.65),
        max_radius=height * rng.uniform(0.5, 0.75),
        spikes=rng.uniform(0.75, 1.15, int(rng.integers(10, 17))),
        spin=rng.uniform(-0.08, 0.08),
    )


def draw_burst(canvas: np.ndarray, burst: Burst, step: int, steps: int) -> None:
    """Frame ``step`` of ``steps`` of an expanding explosion (a bright spiky star with an ink outline)."""
    radius = burst.max_radius * (step + 1) / steps
    ink = max(1, round(canvas.shape[0] / 90))
    for scale, color in ((1.0, (255, 214, 60)), (0.68, (255, 140, 40)), (0.36, WHITE)):
        star = _star(burst, radius * scale, step)
        cv2.fillPoly(canvas, [star], color, cv2.LINE_AA)
        cv2.polylines(canvas, [star], True, OUTLINE, ink, cv2.LINE_AA)


def _star(burst: Burst, radius: float, step: int) -> np.ndarray:
    n = len(burst.spikes)
    angles = np.arange(2 * n) * math.pi / n + burst.spin * step
    radii = np.empty(2 * n)
    radii[0::2] = burst.spikes * radius
    radii[1::2] = radius * 0.6
    return np.stack([burst.cx + radii * np.cos(angles), burst.cy + radii * np.sin(angles)], 1).astype(
        np.int32
    )
