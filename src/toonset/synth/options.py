"""Settings of one synthetic cartoon video."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

BAR_STYLES = ("pillarbox", "letterbox")
BAR_SHARE = 0.12  # each bar covers this share of the frame's width (pillarbox) or height (letterbox)


@dataclass
class SynthOptions:
    """What to generate. Every field has a default; the same seed and options give the same video.

    ``grain`` is the std-dev of fresh per-frame gaussian noise in 8-bit levels; ``weave`` is the largest
    whole-frame shift in pixels (film gate weave, integer shifts up to ``floor(weave)``). Both are applied
    after rendering, so the ground truth describes the clean drawings underneath.

    The remaining fields are opt-in and leave every other setting's videos exactly as they were:

    * ``stress`` adds the in-shot cases that real footage trips detectors with (see
      :mod:`toonset.synth.stress`): dark full-frame occlusion sweeps, impact runs mixing plain white/black
      frames with speed lines drawn over the scene, lighting changes, fire, smear frames, and one shot in
      smooth continuous motion on ones (from two shots on). None of them is a cut; the truth lists them
      under ``events``.
    * ``mono`` turns every frame grey (a black-and-white film); ``flicker`` is the std-dev of a fresh
      per-frame brightness gain (e.g. 0.03), a film defect applied after rendering like ``grain``.
    * ``bars`` ("pillarbox" or "letterbox") renders the picture into the middle of the frame between black
      bars of 12% of the width (height) each; the truth's ``picture`` box says where the picture is.
    """

    width: int = 320
    height: int = 180
    fps_num: int = 24
    fps_den: int = 1
    num_shots: int = 6
    min_shot_frames: int = 24
    max_shot_frames: int = 96
    crf: int = 23
    grain: float = 0.0
    weave: float = 0.0
    hard_cases: bool = True
    preset: str = "veryfast"  # libx264 speed preset
    gop: int = 48  # libx264 keyframe interval
    stress: bool = False
    mono: bool = False
    flicker: float = 0.0
    bars: str | None = None  # None, "pillarbox" or "letterbox"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` for settings that cannot be generated (checked again before generating)."""
        if self.width < 64 or self.height < 48 or self.width % 2 or self.height % 2:
            raise ValueError(
                f"width and height must be even and at least 64x48, got {self.width}x{self.height}"
            )
        if self.fps_num <= 0 or self.fps_den <= 0:
            raise ValueError(f"frame rate must be positive, got {self.fps_num}/{self.fps_den}")
        if self.num_shots < 1:
            raise ValueError(f"num_shots must be at least 1, got {self.num_shots}")
        if not 2 <= self.min_shot_frames <= self.max_shot_frames:
            raise ValueError(
                f"need 2 <= min_shot_frames <= max_shot_frames, got {self.min_shot_frames}, {self.max_shot_frames}"
            )
        if not 0 <= self.crf <= 51:
            raise ValueError(f"crf must be in [0, 51], got {self.crf}")
        if self.grain < 0 or self.weave < 0:
            raise ValueError("grain and weave must not be negative")
        if not 0 <= self.flicker <= 0.5:
            raise ValueError(f"flicker must be in [0, 0.5], got {self.flicker}")
        if self.bars is not None and self.bars not in BAR_STYLES:
            raise ValueError(f"bars must be one of {', '.join(BAR_STYLES)} or None, got {self.bars!r}")
        x0, y0, x1, y1 = self.picture
        if x1 - x0 < 64 or y1 - y0 < 48:
            raise ValueError(f"the picture between the bars must be at least 64x48, got {x1 - x0}x{y1 - y0}")

    @property
    def picture(self) -> tuple[int, int, int, int]:
        """The box ``(x0, y0, x1, y1)`` of the frame that shows the picture: all of it unless ``bars``."""
        if self.bars == "pillarbox":
            bar = 2 * round(self.width * BAR_SHARE / 2)
            return (bar, 0, self.width - bar, self.height)
        if self.bars == "letterbox":
            bar = 2 * round(self.height * BAR_SHARE / 2)
            return (0, bar, self.width, self.height - bar)
        return (0, 0, self.width, self.height)

    @property
    def fps(self) -> Fraction:
        """The exact frame rate."""
        return Fraction(self.fps_num, self.fps_den)
