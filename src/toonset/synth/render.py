"""Turn a :class:`VideoPlan` into clean RGB frames (before grain, weave and compression)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import cv2
import numpy as np

from toonset.synth.background import Background, draw_background, random_background
from toonset.synth.captions import draw_caption, layout_caption
from toonset.synth.character import (
    CharacterDesign,
    Pose,
    PoseChange,
    draw_character,
    next_pose,
    random_design,
    random_pose,
)
from toonset.synth.effects import draw_burst, flash_frame, random_burst
from toonset.synth.palette import OUTLINE, random_palette
from toonset.synth.stress import (
    camera,
    draw_fire,
    draw_occluder,
    light_look,
    random_occluder,
    relight,
    smear,
    smooth_margin,
    smooth_poses,
)
from toonset.synth.timeline import ShotPlan, Smear, VideoPlan
from toonset.synth.transitions import blend_frames

SPLIT_HUE_SHIFT = 120.0  # the second panel of a split screen gets its own palette
SUPERSAMPLE = 4  # smooth shots draw characters this many times larger, then shrink them (sub-pixel moves)


@dataclass(frozen=True)
class _Actor:
    """A character placed in a panel, with one pose per drawing number."""

    design: CharacterDesign
    x: float  # anchor in background pixels
    y: float
    poses: tuple[Pose, ...]


@dataclass(frozen=True, eq=False)
class _Panel:
    """A full-height column of the frame showing one background and its characters."""

    left: int
    width: int
    background: Background
    painted: np.ndarray | None  # the background painted once, or None when it boils
    actors: tuple[_Actor, ...]


class ShotRenderer:
    """Renders any frame of one shot; ``frame(i)`` depends only on the plan and ``i``."""

    def __init__(self, plan: ShotPlan, width: int, height: int) -> None:
        self.plan, self.width, self.height = plan, width, height
        pan = plan.pan
        self.pan_extent = abs(pan.dx) * (pan.end - pan.start) if pan else 0
        self.margin = smooth_margin(plan.motion, plan.length) if plan.motion else 0  # room for the drift
        rng = np.random.default_rng(plan.layout_seed)
        count = len(plan.drawings)
        edges = [width * p // count for p in range(count + 1)]
        self.panels = tuple(
            _make_panel(rng, self, p, edges[p], edges[p + 1] - edges[p]) for p in range(count)
        )
        self.burst = random_burst(rng, width, height) if plan.explosion else None
        self.caption_layouts = [
            layout_caption(c.text, c.style, c.place, width, height) for c in plan.captions
        ]
        # stress cases take their looks from their own seeds: the layout above is the same without them
        self.occluders = [
            random_occluder(np.random.default_rng([plan.layout_seed, 3, k]), plan.hue)
            for k in range(len(plan.occlusions))
        ]
        self.light_looks = [
            light_look(np.random.default_rng([plan.layout_seed, 5, k]), light)
            for k, light in enumerate(plan.lighting)
        ]

    def view_left(self, i: int) -> int:
        """Left edge of the visible window in background pixels at local frame ``i`` (moves while panning)."""
        pan = self.plan.pan
        if pan is None:
            return 0
        moved = pan.dx * int(np.clip(i - pan.start + 1, 0, pan.end - pan.start))
        return self.pan_extent - moved if pan.dx > 0 else -moved

    def frame(self, i: int) -> np.ndarray:
        """The clean RGB frame at local index ``i``: panels, then burst, lighting, occluder, impact flash and
        caption on top."""
        plan = self.plan
        out = self._paint_panels(i)
        explosion = plan.explosion
        if explosion is not None and self.burst is not None and explosion.start <= i < explosion.end:
            draw_burst(out, self.burst, i - explosion.start, explosion.end - explosion.start)
        for light, look in zip(plan.lighting, self.light_looks):
            if light.start <= i < light.end:
                if light.mode == "fire":
                    step = (i - light.start) // light.step
                    look = np.random.default_rng([plan.layout_seed, 6, light.start])
                    flicker = np.random.default_rng([plan.layout_seed, 7, light.start, step])
                    out = draw_fire(out, look, flicker)
                else:
                    out = relight(out, light, look)
        for occlusion, occluder in zip(plan.occlusions, self.occluders):
            if occlusion.start <= i < occlusion.end:
                draw_occluder(out, occluder, occlusion, i - occlusion.start)
        for flash in plan.flashes:
            if flash.start <= i < flash.end:
                lines = np.random.default_rng([plan.layout_seed, 2, i])
                out = flash_frame(flash.styles[i - flash.start], out, lines)
        for caption, layout in zip(plan.captions, self.caption_layouts):
            if caption.start <= i < caption.end:
                draw_caption(out, caption.text, caption.style, layout)
        return out

    def _paint_panels(self, i: int) -> np.ndarray:
        """Backgrounds (boiling ones redrawn every ``boil_period`` frames) and characters of every panel."""
        plan = self.plan
        out = np.empty((self.height, self.width, 3), np.uint8)
        left = self.view_left(i)
        smeared = self._smear_at(i)
        for index, panel in enumerate(self.panels):
            if plan.motion is not None:
                out[:, panel.left : panel.left + panel.width] = self._smooth_view(panel, i)
                continue
            painted = panel.painted
            if painted is None:
                boil = np.random.default_rng([plan.layout_seed, 1, index, i // plan.boil_period])
                painted = draw_background(panel.background, max(1, round(self.height / 180)), boil)
            view = painted[:, left : left + panel.width].copy()
            clean = view.copy() if smeared is not None and index == 0 else None
            number = plan.drawings[index][i]
            for actor in panel.actors:
                draw_character(view, actor.design, actor.poses[number], actor.x - left, actor.y)
            if clean is not None and smeared is not None:
                view = smear(clean, view, smeared.dx, np.random.default_rng([plan.layout_seed, 4, i]))
            out[:, panel.left : panel.left + panel.width] = view
        for panel in self.panels[1:]:
            cv2.line(out, (panel.left, 0), (panel.left, self.height), OUTLINE, max(2, self.height // 60))
        return out

    def _smear_at(self, i: int) -> Smear | None:
        return next((s for s in self.plan.smears if s.start <= i < s.end), None)

    def _smooth_view(self, panel: _Panel, i: int) -> np.ndarray:
        """Panel ``panel`` of a smooth shot at frame ``i``: the camera's view of the background, resampled
        (bilinear) at its sub-pixel position and zoom, and the characters drawn supersampled."""
        plan, height, width = self.plan, self.height, panel.width
        assert plan.motion is not None and panel.painted is not None
        cx, cy, zoom = camera(plan.motion, i, plan.length, self.margin, width, height)
        matrix = np.array([[zoom, 0, width / 2 - zoom * cx], [0, zoom, height / 2 - zoom * cy]], np.float64)
        view = cv2.warpAffine(
            panel.painted, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        scale = SUPERSAMPLE
        big = cv2.resize(view, (width * scale, height * scale), interpolation=cv2.INTER_NEAREST)
        for actor in panel.actors:
            pose, size = actor.poses[i], zoom * scale
            draw_character(
                big,
                replace(actor.design, unit=actor.design.unit * size),
                replace(pose, dx=pose.dx * size, dy=pose.dy * size),
                scale * (zoom * (actor.x - cx) + width / 2),
                scale * (zoom * (actor.y - cy) + height / 2),
            )
        return cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)


def _make_panel(rng: np.random.Generator, shot: ShotRenderer, index: int, left: int, width: int) -> _Panel:
    """Panel ``index`` of ``shot``: its own palette (split screens), background and characters."""
    plan, height = shot.plan, shot.height
    palette_rng = np.random.default_rng([plan.palette_seed, index])
    palette = random_palette(palette_rng, plan.hue + index * SPLIT_HUE_SHIFT)
    margin = shot.margin  # 0 unless the shot moves smoothly
    background = random_background(rng, palette, width + shot.pan_extent + 2 * margin, height)
    close = plan.framing == "close"
    count = 1 if close or len(plan.drawings) > 1 else int(rng.integers(1, 3))
    pan = plan.pan
    view_left = shot.view_left((pan.start + pan.end) // 2 if pan else 0)  # characters are in view mid-pan
    actors = []
    for number in range(count):
        unit = height / 180 * (rng.uniform(1.8, 2.3) if close else rng.uniform(0.75, 1.0))
        design = random_design(rng, palette, unit)
        if number % 2:  # tell the two characters of a shot apart
            design = replace(design, body=design.limb, limb=design.body)
        x = margin + view_left + width * (number + 0.5) / count + rng.uniform(-0.08, 0.08) * width
        y = height * (rng.uniform(1.15, 1.3) if close else rng.uniform(0.84, 0.95))
        dx_limit = width * (0.1 if close else 0.12)
        if plan.motion is not None:
            poses = smooth_poses(rng, plan.length, plan.motion, dx_limit)
        else:
            poses = _pose_sequence(rng, plan, index, speaker=number == 0, dx_limit=dx_limit)
        actors.append(_Actor(design, x, y, poses))
    painted = None if plan.boil_period else draw_background(background)
    return _Panel(left, width, background, painted, tuple(actors))


def _pose_sequence(
    rng: np.random.Generator, plan: ShotPlan, panel: int, speaker: bool, dx_limit: float
) -> tuple[Pose, ...]:
    """One pose per drawing number of ``panel``; in limited animation only the speaker's face moves."""
    poses = [random_pose(rng, dx_limit)]
    for drawing in range(1, max(plan.drawings[panel]) + 1):
        change: PoseChange = "normal"
        if panel == 0 and drawing in plan.big_changes:
            change = "big"
        elif plan.timing == "limited":
            change = "limited"
        held = change == "limited" and not speaker
        poses.append(poses[-1] if held else next_pose(rng, poses[-1], change, dx_limit))
    return tuple(poses)


def render_video(plan: VideoPlan, width: int, height: int) -> Iterator[np.ndarray]:
    """Every clean frame of the video in order, transitions included."""
    previous: np.ndarray | None = None
    for shot in plan.shots:
        renderer = ShotRenderer(shot, width, height)
        frame = renderer.frame(0)
        if shot.transition_in.length and previous is not None:
            yield from blend_frames(previous, frame, shot.transition_in)
        yield frame
        for i in range(1, shot.length):
            frame = renderer.frame(i)
            yield frame
        previous = frame
