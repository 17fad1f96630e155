"""Characters: an outlined blob body, a head with eyes and mouth, and two-segment arms and legs.

A *drawing* is a :class:`Pose`. :func:`next_pose` makes the next drawing of a sequence and guarantees a
visible change: a limb turns by at least 20 degrees ("normal"), only the mouth/eyes change ("limited",
limited animation), or the whole figure jumps to a new place and attitude ("big").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Literal

import cv2
import numpy as np

from toonset.synth.palette import OUTLINE, WHITE, Color, Palette

PoseChange = Literal["normal", "limited", "big"]

SHOULDER = (-150.0, 150.0)  # degrees from pointing straight down, positive = away from the body
ELBOW = (-100.0, 100.0)
LEG = (-40.0, 40.0)
LIMB_RANGES = (SHOULDER, ELBOW, SHOULDER, ELBOW, LEG, LEG)
MIN_TURN, MAX_TURN = 20.0, 40.0  # degrees a limb turns between two "normal" drawings
MOUTH_STATES = 3  # closed, open, wide open

# joint angles in degrees: left shoulder, left elbow, right shoulder, right elbow, left hip, right hip
Limbs = tuple[float, float, float, float, float, float]


@dataclass(frozen=True)
class CharacterDesign:
    """What stays fixed for a character within a shot: colours and on-screen size."""

    body: Color
    skin: Color
    limb: Color
    unit: float  # pixels per design unit; the figure is about 85 units tall
    body_aspect: float  # body ellipse width / height
    ears: bool


@dataclass(frozen=True)
class Pose:
    """One drawing of a character, relative to its anchor point (between the feet)."""

    dx: float  # horizontal offset from the anchor, px
    dy: float  # vertical offset (negative = up), px
    lean: float  # body tilt, degrees
    head_tilt: float
    limbs: Limbs
    mouth: int  # 0 closed, 1 open, 2 wide open
    eyes_closed: bool
    gaze: float  # pupil offset in [-1, 1]


def random_design(rng: np.random.Generator, palette: Palette, unit: float) -> CharacterDesign:
    """A character painted with ``palette``'s character colours."""
    return CharacterDesign(
        palette.body, palette.skin, palette.limb, unit, rng.uniform(0.6, 0.95), rng.random() < 0.5
    )


def random_pose(rng: np.random.Generator, dx_limit: float) -> Pose:
    """A relaxed starting pose somewhere within ``dx_limit`` px of the anchor."""
    return Pose(
        dx=rng.uniform(-dx_limit, dx_limit) / 2,
        dy=0.0,
        lean=rng.uniform(-8, 8),
        head_tilt=rng.uniform(-10, 10),
        limbs=(
            rng.uniform(10, 70),
            rng.uniform(-60, 60),
            rng.uniform(10, 70),
            rng.uniform(-60, 60),
            rng.uniform(-20, 20),
            rng.uniform(-20, 20),
        ),
        mouth=0,
        eyes_closed=False,
        gaze=rng.uniform(-1, 1),
    )


def next_pose(rng: np.random.Generator, previous: Pose, change: PoseChange, dx_limit: float) -> Pose:
    """The drawing after ``previous``; it always differs visibly (see the module docstring)."""
    if change == "limited":
        mouth = (previous.mouth + int(rng.integers(1, MOUTH_STATES))) % MOUTH_STATES
        return replace(previous, mouth=mouth, eyes_closed=previous.eyes_closed != (rng.random() < 0.25))
    if change == "big":
        side = -1.0 if previous.dx >= 0 else 1.0
        fresh = random_pose(rng, dx_limit)
        return replace(
            fresh,
            dx=side * rng.uniform(0.6, 1.0) * dx_limit,
            dy=-rng.uniform(0, 0.3) * dx_limit,
            lean=-math.copysign(rng.uniform(8, 15), previous.lean),
            mouth=int(rng.integers(MOUTH_STATES)),
        )
    limbs = list(previous.limbs)
    forced = int(rng.integers(len(limbs)))
    for index, (low, high) in enumerate(LIMB_RANGES):
        if index == forced:
            limbs[index] = _turn(rng, limbs[index], low, high, MIN_TURN, MAX_TURN)
        elif rng.random() < 0.5:
            limbs[index] = _turn(rng, limbs[index], low, high, 0.0, 12.0)
    return replace(
        previous,
        dx=float(np.clip(previous.dx + rng.uniform(-3, 3), -dx_limit, dx_limit)),
        dy=0.0,
        lean=float(np.clip(previous.lean + rng.uniform(-4, 4), -12, 12)),
        limbs=(limbs[0], limbs[1], limbs[2], limbs[3], limbs[4], limbs[5]),
        mouth=int(rng.integers(MOUTH_STATES)) if rng.random() < 0.3 else previous.mouth,
        eyes_closed=rng.random() < 0.1,
    )


def _turn(
    rng: np.random.Generator, angle: float, low: float, high: float, least: float, most: float
) -> float:
    """``angle`` turned by a random amount in [least, most], in whichever direction stays inside the range."""
    step = rng.uniform(least, most)
    sign = 1.0 if rng.random() < 0.5 else -1.0
    if not low <= angle + sign * step <= high:
        sign = -sign
    return float(np.clip(angle + sign * step, low, high))


def draw_character(canvas: np.ndarray, design: CharacterDesign, pose: Pose, x: float, y: float) -> None:
    """Draw ``design`` in ``pose`` onto ``canvas`` (in place), feet anchored at (``x``, ``y``)."""
    u = design.unit
    ink = max(1, round(1.5 * u))
    body_h, head_r, leg_len = 20 * u, 15 * u, 22 * u
    body_w = body_h * design.body_aspect
    lean = math.radians(pose.lean)
    hip = np.array([x + pose.dx, y + pose.dy - leg_len * 0.95])
    center = hip + _rotate((0.0, -body_h * 0.6), lean)

    for side, hip_angle in ((-1, pose.limbs[4]), (1, pose.limbs[5])):
        start = hip + _vec(side * body_w * 0.45, 0.0)
        knee = start + _limb_vector(side, hip_angle, leg_len * 0.5)
        foot = knee + _limb_vector(side, hip_angle * 0.5, leg_len * 0.5)
        _limb(canvas, (start, knee, foot), design.limb, max(2, round(6 * u)), ink)
        _blob(canvas, foot + _vec(side * 3 * u, 0.0), (5 * u, 3 * u), 0.0, OUTLINE, 0)

    _blob(canvas, center, (body_w, body_h), pose.lean, design.body, ink)

    for side, shoulder_angle, elbow_angle in (
        (-1, pose.limbs[0], pose.limbs[1]),
        (1, pose.limbs[2], pose.limbs[3]),
    ):
        shoulder = center + _rotate((side * body_w * 0.8, -body_h * 0.45), lean)
        elbow = shoulder + _limb_vector(side, shoulder_angle, 14 * u)
        hand = elbow + _limb_vector(side, shoulder_angle + elbow_angle, 13 * u)
        _limb(canvas, (shoulder, elbow, hand), design.body, max(2, round(5 * u)), ink)
        _blob(canvas, hand, (3.5 * u, 3.5 * u), 0.0, design.skin, ink)

    head = center + _rotate((0.0, -body_h - head_r * 0.7), lean)
    tilt = math.radians(pose.head_tilt)
    if design.ears:
        for side in (-1, 1):
            _blob(
                canvas,
                head + _rotate((side * head_r * 0.75, -head_r * 0.8), tilt),
                (head_r * 0.35,) * 2,
                0.0,
                design.skin,
                ink,
            )
    _blob(canvas, head, (head_r, head_r * 0.92), pose.head_tilt, design.skin, ink)
    _face(canvas, head, head_r, tilt, pose, ink)


def _face(canvas: np.ndarray, head: np.ndarray, r: float, tilt: float, pose: Pose, ink: int) -> None:
    """Eyes (open with pupils, or closed lines) and a mouth in one of three states."""
    for side in (-1, 1):
        eye = head + _rotate((side * r * 0.38, -r * 0.12), tilt)
        if pose.eyes_closed:
            _limb(canvas, (eye - _vec(r * 0.2, 0.0), eye + _vec(r * 0.2, 0.0)), OUTLINE, ink, 0)
        else:
            _blob(canvas, eye, (r * 0.2, r * 0.28), math.degrees(tilt), WHITE, ink)
            _blob(canvas, eye + _vec(pose.gaze * r * 0.08, r * 0.05), (r * 0.09, r * 0.12), 0.0, OUTLINE, 0)
    mouth = head + _rotate((0.0, r * 0.5), tilt)
    if pose.mouth == 0:
        _limb(canvas, (mouth - _vec(r * 0.25, 0.0), mouth + _vec(r * 0.25, 0.0)), OUTLINE, ink, 0)
    else:
        size = (r * 0.2, r * 0.12) if pose.mouth == 1 else (r * 0.32, r * 0.26)
        _blob(canvas, mouth, size, math.degrees(tilt), (150, 30, 40), ink)


def _vec(x: float, y: float) -> np.ndarray:
    return np.array([x, y])


def _rotate(offset: tuple[float, float], radians: float) -> np.ndarray:
    c, s = math.cos(radians), math.sin(radians)
    return np.array([offset[0] * c - offset[1] * s, offset[0] * s + offset[1] * c])


def _limb_vector(side: int, degrees: float, length: float) -> np.ndarray:
    """A limb segment hanging down at ``degrees`` (positive = outwards on ``side``)."""
    a = math.radians(degrees)
    return np.array([side * math.sin(a) * length, math.cos(a) * length])


def _point(p: np.ndarray) -> tuple[int, int]:
    return round(float(p[0])), round(float(p[1]))


def _limb(canvas: np.ndarray, joints: tuple[np.ndarray, ...], color: Color, width: int, ink: int) -> None:
    """A thick polyline with an ink outline of ``ink`` px around it (``ink`` 0 = no outline)."""
    if ink:
        for a, b in pairwise(joints):
            cv2.line(canvas, _point(a), _point(b), OUTLINE, width + 2 * ink, cv2.LINE_AA)
    for a, b in pairwise(joints):
        cv2.line(canvas, _point(a), _point(b), color, width, cv2.LINE_AA)


def _blob(
    canvas: np.ndarray, center: np.ndarray, axes: tuple[float, float], angle: float, color: Color, ink: int
) -> None:
    """A filled ellipse with an ink outline of ``ink`` px (0 = none)."""
    size = (max(1, round(axes[0])), max(1, round(axes[1])))
    cv2.ellipse(canvas, _point(center), size, angle, 0, 360, color, -1, cv2.LINE_AA)
    if ink:
        cv2.ellipse(canvas, _point(center), size, angle, 0, 360, OUTLINE, ink, cv2.LINE_AA)
