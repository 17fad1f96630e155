"""Flat-colour palettes: one per shot, built around a base hue so that consecutive shots look apart."""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

Color = tuple[int, int, int]  # RGB, 0-255

OUTLINE: Color = (28, 22, 34)  # the ink colour of every outline
WHITE: Color = (255, 255, 255)
BLACK: Color = (0, 0, 0)


def hsv_color(hue_deg: float, saturation: float, value: float) -> Color:
    """An RGB colour from hue in degrees and saturation/value in [0, 1]."""
    r, g, b = colorsys.hsv_to_rgb((hue_deg % 360.0) / 360.0, saturation, value)
    return (round(r * 255), round(g * 255), round(b * 255))


@dataclass(frozen=True)
class Palette:
    """The colours of one shot: background fields, props and the characters' paint."""

    sky: Color
    ground: Color
    far: Color  # hills, distant buildings, wall panels
    near: Color  # foreground props: trees, houses, furniture
    accent: Color  # sun, windows, flowers
    body: Color  # characters' clothes
    skin: Color
    limb: Color


def random_palette(rng: np.random.Generator, hue: float) -> Palette:
    """A palette whose dominant (sky) colour has ``hue``; the other colours are spread around it."""

    def around(offset: float, sat: tuple[float, float], val: tuple[float, float]) -> Color:
        return hsv_color(hue + offset + rng.uniform(-15, 15), rng.uniform(*sat), rng.uniform(*val))

    return Palette(
        sky=around(0, (0.30, 0.60), (0.80, 0.97)),
        ground=around(rng.choice([90, 150, 210]), (0.35, 0.70), (0.45, 0.75)),
        far=around(rng.choice([40, 300]), (0.25, 0.55), (0.55, 0.80)),
        near=around(rng.choice([120, 240]), (0.45, 0.80), (0.35, 0.65)),
        accent=around(180, (0.60, 0.90), (0.85, 1.00)),
        body=around(rng.uniform(0, 360), (0.55, 0.90), (0.55, 0.90)),
        skin=hsv_color(rng.uniform(15, 35), rng.uniform(0.15, 0.45), rng.uniform(0.85, 1.0)),
        limb=around(rng.uniform(0, 360), (0.40, 0.80), (0.30, 0.60)),
    )
