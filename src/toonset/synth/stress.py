"""Stress cases drawn inside a shot: the things real footage fools shot and timing detectors with.

None of them is a cut. Each is a pure function of its plan entry, the frame and a seed, so any frame of a
shot can be rendered on its own:

* :func:`draw_occluder`: a dark, cel-shaded, ink-outlined foreground silhouette (a wing, a body passing
  the camera) that slides across the picture, covers (nearly) all of it for a few frames and slides off.
  It keeps moving while it covers the picture, so every frame of the sweep is a new picture.
* :func:`relight`: the whole picture darkened, brightened or tinted; :func:`draw_fire` adds flickering
  firelight and flames along the bottom edge, redrawn every ``step`` frames.
* :func:`smear`: the characters streaked along their motion for one or two frames (smear frames).
* :func:`smooth_poses` and :func:`camera`: a shot on ones whose camera drifts and zooms by fractions of
  a pixel per frame while its characters move continuously between key poses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from toonset.synth.character import Pose, next_pose, random_pose
from toonset.synth.palette import OUTLINE, hsv_color
from toonset.synth.timeline import Lighting, Motion, Occlusion

TAU = 2 * math.pi


# ----------------------------------------------------------------------------------------- occlusion
@dataclass(frozen=True)
class Occluder:
    """The look of one occluding silhouette: colours, edge shape, cel shading and feather lines."""

    base: np.ndarray  # (3,) float32 RGB of the dark body
    light: np.ndarray  # the lighter cel-shading tone
    rim: np.ndarray  # rim light along the leading edge
    amp: float  # edge waviness as a share of the sweep length
    waves: tuple[float, ...]  # frequencies and phases of the leading and trailing edges
    band: float  # cel-shading band period, share of the sweep length
    feather: float  # spacing of the inked feather/fold lines, share of the sweep length
    sliver: float  # share of the picture left uncovered at the far edge while covering (0 = none)


def random_occluder(rng: np.random.Generator, hue: float) -> Occluder:
    """A dark silhouette tinted towards ``hue``."""
    tint = hue + rng.uniform(-40, 40)
    return Occluder(
        base=np.array(hsv_color(tint, rng.uniform(0.25, 0.5), rng.uniform(0.08, 0.16)), np.float32),
        light=np.array(hsv_color(tint, rng.uniform(0.25, 0.5), rng.uniform(0.22, 0.3)), np.float32),
        rim=np.array(hsv_color(tint + 20, rng.uniform(0.2, 0.4), rng.uniform(0.34, 0.42)), np.float32),
        amp=float(rng.uniform(0.03, 0.07)),
        waves=tuple(
            float(v) for v in (*rng.uniform(1.5, 4.0, 2), *rng.uniform(0, TAU, 4), *rng.uniform(4, 9, 2))
        ),
        band=float(rng.uniform(0.4, 0.9)),
        feather=float(rng.uniform(0.08, 0.15)),
        sliver=0.0 if rng.random() < 0.6 else float(rng.uniform(0.01, 0.04)),
    )


def occluder_span(occlusion: Occlusion, k: int, along: int, occluder: Occluder) -> tuple[float, float]:
    """(back, front) of the silhouette along the sweep at step ``k`` of ``occlusion``, in pixels."""
    amp = occluder.amp * along
    margin = amp + 3 - occluder.sliver * along
    step = max(2.0, along * 0.03)
    length = along + 2 * (amp + margin) + (occlusion.cover - 1) * step
    if k < occlusion.enter:
        front = along * (k + 1) / (occlusion.enter + 1)
        return front - length, front
    k -= occlusion.enter
    if k < occlusion.cover:
        front = along + margin + k * step
        return front - length, front
    back = along * (k - occlusion.cover + 1) / (occlusion.leave + 1)
    return back, back + length


def draw_occluder(canvas: np.ndarray, occluder: Occluder, occlusion: Occlusion, k: int) -> None:
    """Step ``k`` of the sweep drawn over ``canvas`` (in place)."""
    h, w = canvas.shape[:2]
    horizontal = occlusion.direction in ("left", "right")
    along, across = (w, h) if horizontal else (h, w)
    back, front = occluder_span(occlusion, k, along, occluder)
    a = np.arange(along, dtype=np.float32)[None, :]
    b = np.arange(across, dtype=np.float32)[:, None] / across
    f1, f2, p1, p2, p3, p4, f3, f4 = occluder.waves
    amp = occluder.amp * along
    lead = front + amp * (0.6 * np.sin(TAU * f1 * b + p1) + 0.4 * np.abs(np.sin(TAU * f3 * b + p3)) - 0.4)
    trail = back + amp * (0.6 * np.sin(TAU * f2 * b + p2) - 0.4 * np.abs(np.sin(TAU * f4 * b + p4)) + 0.4)
    inside = (a <= lead) & (a >= trail)
    if not inside.any():
        return
    s = a - back  # position on the silhouette: the shading and feathers travel with it
    band = np.sin(TAU * s / (occluder.band * along) + 1.5 * np.sin(TAU * 1.3 * b + p3))
    ink = max(1.5, along / 160)
    folds = (s + 0.3 * amp * np.sin(TAU * f4 * b + p1)) / (occluder.feather * along)
    feathers = (folds - np.floor(folds)) * (occluder.feather * along) < ink
    tone = (band > 0.45).astype(np.uint8)  # 0 dark body, 1 lighter shading, 2 rim light, 3 ink
    tone[lead - a < 3 * ink] = 2
    tone[(lead - a < ink) | (a - trail < ink) | feathers] = 3
    palette = np.stack([occluder.base, occluder.light, occluder.rim, np.array(OUTLINE, np.float32)])
    layer, mask = palette.astype(np.uint8)[tone], inside
    if occlusion.direction in ("left", "up"):  # travelling towards the start of the axis: mirror it
        layer, mask = layer[:, ::-1], mask[:, ::-1]
    if not horizontal:
        layer, mask = layer.transpose(1, 0, 2), mask.T
    if canvas.flags.c_contiguous:  # cv2 writes into a contiguous canvas in place, much faster than numpy
        cv2.copyTo(np.ascontiguousarray(layer), np.ascontiguousarray(mask, np.uint8), canvas)
    else:
        np.copyto(canvas, layer, where=mask[..., None])


# ------------------------------------------------------------------------------------------ lighting
def light_look(rng: np.random.Generator, lighting: Lighting) -> np.ndarray:
    """The per-channel gain (dark, tint) or the share of the way to white (bright) of ``lighting``."""
    if lighting.mode == "dark":
        return np.array([0.8, 0.88, 1.1], np.float32) * np.float32(rng.uniform(0.35, 0.6))
    if lighting.mode == "bright":
        return np.full(3, rng.uniform(0.35, 0.6), np.float32)
    if lighting.mode == "tint":
        r, g, b = hsv_color(rng.uniform(0, 360), rng.uniform(0.45, 0.7), 1.0)
        return np.array([r, g, b], np.float32) / 255
    return np.zeros(3, np.float32)  # fire: drawn per step by draw_fire


def relight(frame: np.ndarray, lighting: Lighting, look: np.ndarray) -> np.ndarray:
    """``frame`` under the changed light of ``lighting`` (not fire)."""
    pixels = frame.astype(np.float32)
    pixels = 255 - (255 - pixels) * (1 - look) if lighting.mode == "bright" else pixels * look
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def draw_fire(frame: np.ndarray, look: np.random.Generator, flicker: np.random.Generator) -> np.ndarray:
    """``frame`` in flickering orange firelight with outlined flames licking up from the bottom edge.

    ``look`` (the same seed on every frame of one fire) places the flames; ``flicker`` (a fresh seed for
    every redrawing) sets their heights, their tips and the strength of the light.
    """
    h, w = frame.shape[:2]
    warm = np.array([1.1, 0.9, 0.7], np.float32) * np.float32(flicker.uniform(0.82, 1.02))
    out = np.clip(frame.astype(np.float32) * warm, 0, 255).astype(np.uint8)
    ink = max(1, round(h / 90))
    tall = look.uniform(0.2, 0.4)
    x = -look.uniform(0, w * 0.1)
    while x < w:
        width = w * look.uniform(0.08, 0.18)
        height = h * tall * look.uniform(0.7, 1.2) * flicker.uniform(0.75, 1.25)
        lean = flicker.uniform(-0.3, 0.3) * width
        centre = x + width / 2
        for scale, colour in ((1.0, (240, 110, 30)), (0.55, (255, 215, 80))):
            side = width * scale / 2
            points = [
                (centre - side, h + 2),
                (centre - side * 0.8 + lean * 0.3, h - height * scale * 0.45),
                (centre + lean, h - height * scale),
                (centre + side * 0.8 + lean * 0.3, h - height * scale * 0.5),
                (centre + side, h + 2),
            ]
            polygon = np.array(points, np.int32)
            cv2.fillPoly(out, [polygon], colour, cv2.LINE_AA)
            cv2.polylines(out, [polygon], True, OUTLINE, ink, cv2.LINE_AA)
        x += width * look.uniform(0.6, 1.0)
    return out


# --------------------------------------------------------------------------------------------- smear
def smear(background: np.ndarray, drawn: np.ndarray, dx: int, rng: np.random.Generator) -> np.ndarray:
    """``drawn`` (``background`` with characters on it) with the characters streaked ``dx`` px behind them.

    The characters are blurred along the motion with weights that fade towards the tail (they stay
    recognisable where they are and trail off where they came from), and a few ink speed lines trail them.
    """
    mask = np.any(drawn != background, axis=2)
    if not mask.any():
        return drawn.copy()
    reach = max(3, abs(dx))
    weights = np.linspace(1.0, 0.15, reach, dtype=np.float32)
    # filter2D correlates: dst(x) = sum over k of kernel[k] * src(x + k - anchor)
    kernel = (weights / weights.sum())[None, :]
    anchor = (0, 0)  # moving right: a pixel gathers from its right, so the streak trails to the left
    if dx < 0:
        kernel, anchor = np.ascontiguousarray(kernel[:, ::-1]), (reach - 1, 0)
    alpha = mask.astype(np.float32)
    paint = drawn.astype(np.float32) * alpha[..., None]
    streak_alpha = cv2.filter2D(alpha, -1, kernel, anchor=anchor, borderType=cv2.BORDER_CONSTANT)
    streak_paint = cv2.filter2D(paint, -1, kernel, anchor=anchor, borderType=cv2.BORDER_CONSTANT)
    out = background.astype(np.float32) * (1 - streak_alpha[..., None]) + streak_paint
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    rows = np.flatnonzero(mask.any(axis=1))
    columns = np.flatnonzero(mask.any(axis=0))
    tail = columns[0] if dx > 0 else columns[-1]
    for _ in range(int(rng.integers(3, 7))):
        y = int(rng.integers(rows[0], rows[-1] + 1))
        start = tail - np.sign(dx) * int(rng.integers(0, 6))
        end = start - np.sign(dx) * int(reach * rng.uniform(0.5, 1.0))
        cv2.line(out, (int(start), y), (int(end), y), OUTLINE, 1, cv2.LINE_AA)
    return out


# -------------------------------------------------------------------------------------- smooth motion
def smooth_poses(rng: np.random.Generator, frames: int, motion: Motion, dx_limit: float) -> tuple[Pose, ...]:
    """One pose per frame: key poses ``motion.key_every`` frames apart, interpolated in between, plus a walk."""
    keys = [random_pose(rng, dx_limit)]
    while (len(keys) - 1) * motion.key_every < frames:
        keys.append(next_pose(rng, keys[-1], "normal", dx_limit))
    poses = []
    for i in range(frames):
        index, t = divmod(i, motion.key_every)
        a, b = keys[index], keys[index + 1]
        u = t / motion.key_every
        u = u * u * (3 - 2 * u)  # ease in and out between keys
        limbs = tuple(_lerp(x, y, u) for x, y in zip(a.limbs, b.limbs))
        poses.append(
            replace(
                a,
                dx=_lerp(a.dx, b.dx, u) + motion.walk * i,
                lean=_lerp(a.lean, b.lean, u),
                head_tilt=_lerp(a.head_tilt, b.head_tilt, u),
                limbs=limbs,  # type: ignore[arg-type]
                gaze=_lerp(a.gaze, b.gaze, u),
            )
        )
    return tuple(poses)


def _lerp(x: float, y: float, u: float) -> float:
    return x + (y - x) * u


def camera(
    motion: Motion, i: int, frames: int, margin: int, width: int, height: int
) -> tuple[float, float, float]:
    """(centre x, centre y, zoom) of the view at frame ``i`` in background pixels (background ``margin`` px
    wider than the picture on each side)."""
    progress = i / max(1, frames - 1)
    zoom = motion.zoom_from + (motion.zoom_to - motion.zoom_from) * progress
    return margin + width / 2 + motion.drift * (i - (frames - 1) / 2), height / 2, zoom


def smooth_margin(motion: Motion, frames: int) -> int:
    """How far the background must reach beyond the picture on each side for the camera's drift."""
    return math.ceil(abs(motion.drift) * frames / 2) + 4
