"""Settings of one synthetic cartoon video."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass
class SynthOptions:
    """What to generate. Every field has a default; the same seed and options give the same video.

    ``grain`` is the std-dev of fresh per-frame gaussian noise in 8-bit levels; ``weave`` is the largest
    whole-frame shift in pixels (film gate weave, integer shifts up to ``floor(weave)``). Both are applied
    after rendering, so the ground truth describes the clean drawings underneath.
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

    @property
    def fps(self) -> Fraction:
        """The exact frame rate."""
        return Fraction(self.fps_num, self.fps_den)
