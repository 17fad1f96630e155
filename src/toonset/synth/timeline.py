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

ShotKind = Literal["normal", "flash_shot", "split_screen", "boil", "explosion", "same_palette", "smooth"]
Timing = Literal["ones", "twos", "threes", "mixed", "limited", "still"]
TransitionType = Literal["start", "cut", "fade", "dissolve"]
Framing = Literal["wide", "close"]
SweepDirection = Literal["left", "right", "up", "down"]  # where an occluder travels to
LightingMode = Literal["dark", "bright", "tint", "fire"]


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

    @property
    def mixed(self) -> bool:
        """Whether the run mixes plain frames with speed lines drawn over the scene (a stress case)."""
        return any(style.endswith("_over") for style in self.styles)


@dataclass(frozen=True)
class Explosion:
    """An expanding burst drawn over local frames [start, end)."""

    start: int
    end: int


@dataclass(frozen=True)
class Occlusion:
    """A dark foreground silhouette sweeping across the picture over local frames [start, end).

    It enters over ``enter`` frames, covers (nearly) the whole picture for ``cover`` frames while still
    sliding, and leaves over ``leave`` frames, travelling towards ``direction``; the shot goes on beneath.
    """

    start: int
    enter: int
    cover: int
    leave: int
    direction: SweepDirection

    @property
    def end(self) -> int:
        return self.start + self.enter + self.cover + self.leave

    @property
    def cover_start(self) -> int:
        return self.start + self.enter

    @property
    def cover_end(self) -> int:
        return self.start + self.enter + self.cover


@dataclass(frozen=True)
class Lighting:
    """The whole picture relit over local frames [start, end): darkened, brightened, tinted, or firelit.

    ``end`` equal to the shot's length means the light stays changed until the shot ends. Fire redraws its
    flames and flickering light every ``step`` frames.
    """

    start: int
    end: int
    mode: LightingMode
    step: int = 1


@dataclass(frozen=True)
class Smear:
    """Smear frames over local frames [start, end): the characters streak ``dx`` px (sign = direction)."""

    start: int
    end: int
    dx: int


@dataclass(frozen=True)
class Motion:
    """Continuous camera and character motion on ones (a "smooth" shot, like 3DCG or a slow camera move).

    The camera drifts ``drift`` px per frame and zooms linearly from ``zoom_from`` to ``zoom_to`` (anti-
    aliased resampling); the characters move between key poses ``key_every`` frames apart, interpolated on
    every frame, and walk ``walk`` px per frame.
    """

    drift: float
    zoom_from: float
    zoom_to: float
    key_every: int
    walk: float


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
    occlusions: tuple[Occlusion, ...] = ()  # stress cases (only with SynthOptions.stress)
    lighting: tuple[Lighting, ...] = ()
    smears: tuple[Smear, ...] = ()
    motion: Motion | None = None  # set exactly for "smooth" shots

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
