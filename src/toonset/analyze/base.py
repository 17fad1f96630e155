"""The contract between the decode pass and what consumes its frames.

Two kinds of consumers share the one decode pass:

* a **segmenter** (the shot detector) sees every frame as soon as it is decoded and publishes boundaries
  that become final a bounded number of frames later;
* **clip consumers** (timing, compatibility counts, media encoding, and later clip annotators) receive the
  frames again in order, already grouped into clips: ``start_clip`` → ``process`` … → ``end_clip``.
  Frames come in stretches: each consumer takes a stretch of a clip's frames before the next consumer
  does, so a consumer must not expect another to be at the same frame (it may be ahead, or behind when
  listed after it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from toonset.io.frames import DecodedFrame


@dataclass(frozen=True)
class ClipContext:
    source_id: str
    clip_id: str
    index: int
    start_frame: int
    start_time: float
    fps: float


class ClipConsumer(Protocol):
    name: str
    version: str
    needs_pixels: bool  # True when it reads full-resolution frames (keeps decoder frames in flight)

    def start_clip(self, clip: ClipContext) -> None: ...

    def process(self, frame: DecodedFrame) -> None: ...

    def end_clip(self) -> dict[str, Any]:
        """Fields for the clip record (scalars) and side outputs (keys starting with ``_``).

        The clip ends after the last frame passed to ``process``."""
        ...
