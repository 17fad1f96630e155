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
from toonset.synth.timeline import ShotPlan, VideoPlan
from toonset.synth.transitions import blend_frames

SPLIT_HUE_SHIFT = 120.0  # the second panel of a split screen gets its own palette


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
        rng = np.random.default_rng(plan.layout_seed)
        panel_count = len(plan.drawings)
        panel_width = width // panel_count
        pan = plan.pan
        self.pan_extent = abs(pan.dx) * (pan.end - pan.start) if pan else 0
        self.panels = tuple(
            self._make_panel(
                rng, p, p * panel_width, panel_width if p < panel_count - 1 else width - p * panel_width
            )
            for p in range(panel_count)
        )
        self.burst = random_burst(rng, width, height) if plan.explosion else None
        self.caption_layouts = [
            layout_caption(c.text, c.style, c.place, width, height) for c in plan.captions
        ]

    def _make_panel(self, rng: np.random.Generator, index: int, left: int, width: int) -> _Panel:
        plan, height = self.plan, self.height
        palette = random_palette(
            np.random.default_rng([plan.palette_seed, index]), plan.hue + index * SPLIT_HUE_SHIFT
        )
        background = random_background(rng, palette, width + self.pan_extent, height)
        close = plan.framing == "close"
        count = 1 if close or len(plan.drawings) > 1 else int(rng.integers(1, 3))
        dx_limit = width * (0.1 if close else 0.12)
        pan = plan.pan
        view_left = self._view_left((pan.start + pan.end) // 2 if pan else 0)  # in view mid-pan
        drawings = max(plan.drawings[index]) + 1
        actors = []
        for number in range(count):
            unit = height / 180 * (rng.uniform(1.8, 2.3) if close else rng.uniform(0.75, 1.0))
            x = view_left + width * (number + 0.5) / count + rng.uniform(-0.08, 0.08) * width
            y = height * (rng.uniform(1.15, 1.3) if close else rng.uniform(0.84, 0.95))
            poses = [random_pose(rng, dx_limit)]
            for drawing in range(1, drawings):
                change: PoseChange = "normal"
                if index == 0 and drawing in plan.big_changes:
                    change = "big"
                elif plan.timing == "limited":
                    change = "limited"
                poses.append(
                    poses[-1]
                    if change == "limited" and number > 0
                    else next_pose(rng, poses[-1], change, dx_limit)
                )
            design = random_design(rng, palette, unit)
            if number % 2:  # tell the two characters of a shot apart
                design = replace(design, body=design.limb, limb=design.body)
            actors.append(_Actor(design, x, y, tuple(poses)))
        painted = None if plan.boil_period else draw_background(background)
        return _Panel(left, width, background, painted, tuple(actors))

    def _view_left(self, i: int) -> int:
        """Left edge of the visible window in background pixels at local frame ``i`` (the pan)."""
        pan = self.plan.pan
        if pan is None:
            return 0
        moved = pan.dx * int(np.clip(i - pan.start + 1, 0, pan.end - pan.start))
        return self.pan_extent - moved if pan.dx > 0 else -moved

    def frame(self, i: int) -> np.ndarray:
        """The clean RGB frame at local index ``i``."""
        plan = self.plan
        out = np.empty((self.height, self.width, 3), np.uint8)
        view_left = self._view_left(i)
        for index, panel in enumerate(self.panels):
            if panel.painted is None:
                boil = np.random.default_rng([plan.layout_seed, 1, index, i // plan.boil_period])
                painted = draw_background(panel.background, max(1, round(self.height / 180)), boil)
            else:
                painted = panel.painted
            view = painted[:, view_left : view_left + panel.width].copy()
            number = plan.drawings[index][i]
            for actor in panel.actors:
                draw_character(view, actor.design, actor.poses[number], actor.x - view_left, actor.y)
            out[:, panel.left : panel.left + panel.width] = view
        if len(self.panels) > 1:
            for panel in self.panels[1:]:
                cv2.line(out, (panel.left, 0), (panel.left, self.height), OUTLINE, max(2, self.height // 60))
        if plan.explosion and self.burst and plan.explosion.start <= i < plan.explosion.end:
            draw_burst(out, self.burst, i - plan.explosion.start, plan.explosion.end - plan.explosion.start)
        for flash in plan.flashes:
            if flash.start <= i < flash.end:
                out = flash_frame(
                    flash.styles[i - flash.start], out, np.random.default_rng([plan.layout_seed, 2, i])
                )
        for caption, layout in zip(plan.captions, self.caption_layouts):
            if caption.start <= i < caption.end:
                draw_caption(out, caption.text, caption.style, layout)
        return out


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
