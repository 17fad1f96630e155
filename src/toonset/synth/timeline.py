"""The plan of a video as pure data: shots, their drawing schedules, effects and transitions.

Frame numbers inside a :class:`ShotPlan` are local to the shot (0 = its first frame). A gradual
transition into a shot occupies its own frames between the previous shot and this one;
:func:`place_shots` turns the plan into global frame numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from toonset.synth.captions import CaptionPlace, CaptionStyle
from toonset.synth.effects import FlashStyle
from toonset.synth.palette import Color

ShotKind = Literal["normal", "flash_shot", "split_screen", "boil", "explosion", "same_palette"]
Timing = Literal["ones", "twos", "threes", "mixed", "limited", "still"]
TransitionType = Literal["start", "cut", "fade", "dissolve"]
Framing = Literal["wide", "close"]


@dataclass(frozen=True)
class Transition:
    """How a shot begins. ``length`` blended frames precede the shot for fades and dissolves."""

    type: TransitionType
    length: int = 0
    color: Color | None = None  # the colour a fade passes through (black or white)


@dataclass(frozen=True)
class Pan:
    """A camera pan over local frames [start, end): the picture moves ``dx`` px every frame."""

    start: int
    end: int
    dx: int  # content displacement per frame on screen (positive = content moves right)


@dataclass(frozen=True)
class Flash:
    """Impact frames replacing local frames [start, start + len(styles))."""

    start: int
    styles: tuple[FlashStyle, ...]

    @property
    def end(self) -> int:
        return self.start + len(self.styles)


@dataclass(frozen=True)
class Explosion:
    """An expanding burst drawn over local frames [start, end)."""

    start: int
    end: int


@dataclass(frozen=True)
class Caption:
    """Burned-in text over local frames [start, end)."""

    start: int
    end: int
    text: str
    style: CaptionStyle
    place: CaptionPlace


@dataclass(frozen=True)
class ShotPlan:
    """Everything about one shot except pixels.

    ``drawings[p][i]`` is the drawing number shown in panel ``p`` at local frame ``i`` (one panel unless
    split screen). ``big_changes`` are drawing numbers (panel 0) reached by a big pose change.
    """

    kind: ShotKind
    timing: Timing
    transition_in: Transition
    drawings: tuple[tuple[int, ...], ...]
    framing: Framing
    hue: float  # base hue of the palette, degrees
    palette_seed: int
    layout_seed: int
    big_changes: tuple[int, ...] = ()
    pan: Pan | None = None
    flashes: tuple[Flash, ...] = ()
    explosion: Explosion | None = None
    captions: tuple[Caption, ...] = ()
    boil_period: int = 0  # the background is redrawn every this many frames (0 = painted once)

    @property
    def length(self) -> int:
        return len(self.drawings[0])


@dataclass(frozen=True)
class VideoPlan:
    """The whole video: shots in order."""

    shots: tuple[ShotPlan, ...]

    @property
    def frame_count(self) -> int:
        return sum(shot.length + shot.transition_in.length for shot in self.shots)


@dataclass(frozen=True)
class PlacedShot:
    """A shot with global frame numbers: its transition occupies [transition_start, start)."""

    plan: ShotPlan
    transition_start: int
    start: int

    @property
    def end(self) -> int:
        return self.start + self.plan.length


def place_shots(plan: VideoPlan) -> list[PlacedShot]:
    """Global positions of every shot, in order."""
    placed, cursor = [], 0
    for shot in plan.shots:
        start = cursor + shot.transition_in.length
        placed.append(PlacedShot(shot, cursor, start))
        cursor = start + shot.length
    return placed


def holds_to_drawings(holds: list[int]) -> tuple[int, ...]:
    """Per-frame drawing numbers from a list of hold lengths (drawing k is held ``holds[k]`` frames)."""
    return tuple(number for number, hold in enumerate(holds) for _ in range(hold))
