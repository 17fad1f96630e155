"""Backgrounds: flat colour fields and outlined polygons (sky, ground, hills, buildings, rooms).

A background is pure data (a list of polygons); :func:`draw_background` paints it. Drawing it again
with jittered vertices gives the hand-redrawn "boiling" look of a background animated on twos.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from toonset.synth.palette import OUTLINE, Color, Palette

STYLES = ("town", "country", "room")


@dataclass(frozen=True, eq=False)
class Shape:
    """One filled polygon in background pixels, optionally outlined."""

    points: np.ndarray  # (n, 2) int32
    fill: Color
    outlined: bool = True


@dataclass(frozen=True, eq=False)
class Background:
    """A painted backdrop, possibly wider than the frame so that the camera can pan across it."""

    width: int
    height: int
    base: Color
    shapes: tuple[Shape, ...]

    @property
    def line_width(self) -> int:
        """Outline thickness in pixels, proportional to the height."""
        return max(1, round(self.height / 90))


def rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """The four corners of an axis-aligned rectangle."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.int32)


def ellipse(cx: float, cy: float, ax: float, ay: float, step: int = 15) -> np.ndarray:
    """An ellipse as a polygon (so it can be jittered like any other shape)."""
    return cv2.ellipse2Poly((round(cx), round(cy)), (max(1, round(ax)), max(1, round(ay))), 0, 0, 360, step)


def mix(color: Color, other: Color, amount: float) -> Color:
    """``color`` moved ``amount`` of the way towards ``other``."""
    r, g, b = (round(c + (o - c) * amount) for c, o in zip(color, other))
    return (r, g, b)


def random_background(rng: np.random.Generator, palette: Palette, width: int, height: int) -> Background:
    """A random layout in one of :data:`STYLES`, spread over the whole ``width``."""
    builders: dict[str, Callable[[np.random.Generator, Palette, int, int], list[Shape]]] = {
        "town": _town,
        "country": _country,
        "room": _room,
    }
    style = STYLES[int(rng.integers(len(STYLES)))]
    return Background(width, height, palette.sky, tuple(builders[style](rng, palette, width, height)))


def draw_background(
    background: Background, jitter: int = 0, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Paint ``background`` into a new RGB image; ``jitter`` > 0 moves every vertex by up to that many px."""
    canvas = np.empty((background.height, background.width, 3), np.uint8)
    canvas[:] = background.base
    for shape in background.shapes:
        points = shape.points
        if jitter and rng is not None:
            points = points + rng.integers(-jitter, jitter + 1, points.shape, dtype=np.int32)
        cv2.fillPoly(canvas, [points], shape.fill, cv2.LINE_AA)
        if shape.outlined:
            cv2.polylines(canvas, [points], True, OUTLINE, background.line_width, cv2.LINE_AA)
    return canvas


def _count(width: int, height: int, per_frame_height: float) -> int:
    """How many of a prop to scatter: ``per_frame_height`` for every stretch of width equal to the height."""
    return max(1, round(width / height * per_frame_height))


def _sky_props(rng: np.random.Generator, palette: Palette, width: int, height: int) -> list[Shape]:
    """A sun and a few clouds in the upper part of the frame."""
    shapes = [
        Shape(
            ellipse(rng.uniform(0, width), height * rng.uniform(0.1, 0.25), height * 0.09, height * 0.09),
            palette.accent,
        )
    ]
    cloud = mix(palette.sky, (255, 255, 255), 0.7)
    for _ in range(_count(width, height, 1.6)):
        cx, cy = rng.uniform(0, width), height * rng.uniform(0.08, 0.3)
        for part in range(3):
            shapes.append(
                Shape(ellipse(cx + (part - 1) * height * 0.1, cy, height * 0.09, height * 0.05), cloud)
            )
    return shapes


def _town(rng: np.random.Generator, palette: Palette, width: int, height: int) -> list[Shape]:
    horizon = height * rng.uniform(0.6, 0.75)
    shapes = _sky_props(rng, palette, width, height)
    shapes.append(Shape(rect(-4, horizon, width + 4, height + 4), palette.ground))
    x = -rng.uniform(0, height * 0.1)
    while x < width:
        w = height * rng.uniform(0.18, 0.35)
        top = horizon - height * rng.uniform(0.2, 0.5)
        fill = palette.far if rng.random() < 0.5 else palette.near
        shapes.append(Shape(rect(x, top, x + w, horizon), fill))
        win = height * 0.045
        for wy in np.arange(top + win, horizon - 2 * win, 2.2 * win):
            for wx in np.arange(x + win, x + w - 1.5 * win, 2.2 * win):
                if rng.random() < 0.7:
                    shapes.append(Shape(rect(wx, wy, wx + win, wy + win), palette.accent, outlined=False))
        x += w + height * rng.uniform(0.0, 0.08)
    shapes.append(
        Shape(
            rect(-4, horizon + height * 0.12, width + 4, horizon + height * 0.17),
            mix(palette.ground, (40, 40, 40), 0.5),
            outlined=False,
        )
    )
    return shapes


def _country(rng: np.random.Generator, palette: Palette, width: int, height: int) -> list[Shape]:
    horizon = height * rng.uniform(0.55, 0.72)
    shapes = _sky_props(rng, palette, width, height)
    for _ in range(max(2, _count(width, height, 1.5))):
        shapes.append(
            Shape(
                ellipse(
                    rng.uniform(0, width),
                    horizon,
                    height * rng.uniform(0.3, 0.6),
                    height * rng.uniform(0.12, 0.3),
                ),
                palette.far,
            )
        )
    xs = np.linspace(-4, width + 4, max(8, _count(width, height, 9)))
    ys = horizon + height * 0.03 * np.sin(xs / height * rng.uniform(4, 8) + rng.uniform(0, 6))
    field = np.concatenate([np.stack([xs, ys], 1), [[width + 4, height + 4], [-4, height + 4]]])
    shapes.append(Shape(field.astype(np.int32), palette.ground))
    trunk = mix(palette.limb, (60, 40, 20), 0.6)
    for _ in range(max(2, _count(width, height, 2.5))):
        tx, base = rng.uniform(0, width), horizon + height * rng.uniform(0.02, 0.15)
        size = height * rng.uniform(0.08, 0.14)
        shapes.append(Shape(rect(tx - size * 0.15, base - size * 1.2, tx + size * 0.15, base), trunk))
        shapes.append(Shape(ellipse(tx, base - size * 1.5, size * 0.7, size * 0.8), palette.near))
    return shapes


def _room(rng: np.random.Generator, palette: Palette, width: int, height: int) -> list[Shape]:
    floor = height * rng.uniform(0.62, 0.78)
    pad = height * 0.022  # window frame and table leg thickness
    shapes = [Shape(rect(-4, floor - height * 0.12, width + 4, floor), palette.far)]
    shapes.append(Shape(rect(-4, floor, width + 4, height + 4), palette.ground))
    frame_color = mix(palette.near, (255, 255, 255), 0.3)
    x = rng.uniform(0, height * 0.3)
    while x < width:
        w, h = height * rng.uniform(0.2, 0.4), height * rng.uniform(0.2, 0.35)
        y = height * rng.uniform(0.08, 0.2)
        if rng.random() < 0.5:  # a window with a cross bar
            shapes.append(Shape(rect(x, y, x + w, y + h), frame_color))
            shapes.append(Shape(rect(x + pad, y + pad, x + w - pad, y + h - pad), palette.accent))
            shapes.append(
                Shape(
                    rect(x + w / 2 - pad / 2, y + pad, x + w / 2 + pad / 2, y + h - pad),
                    frame_color,
                    outlined=False,
                )
            )
        else:  # a picture frame
            shapes.append(Shape(rect(x, y, x + w * 0.7, y + h), palette.near))
            shapes.append(Shape(ellipse(x + w * 0.35, y + h / 2, w * 0.2, h * 0.3), palette.accent))
        x += w + height * rng.uniform(0.15, 0.5)
    for _ in range(_count(width, height, 0.6)):
        tx, tw = rng.uniform(0, width), height * rng.uniform(0.3, 0.5)
        top = floor - height * rng.uniform(0.05, 0.12)
        shapes.append(Shape(rect(tx, top, tx + tw, top + height * 0.05), palette.near))
        shapes.append(Shape(rect(tx + pad, top, tx + 3 * pad, floor + height * 0.1), palette.near))
        shapes.append(Shape(rect(tx + tw - 3 * pad, top, tx + tw - pad, floor + height * 0.1), palette.near))
    return shapes
