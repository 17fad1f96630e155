"""Route the decoded stream into clips while it flows: the heart of the single decode pass.

Every frame goes to the segmenter first. Frames wait in a short queue until the segmenter has made the
boundaries around them final, then go to each clip consumer inside ``start_clip``/``end_clip`` brackets:
the frames that became ready together go to one consumer after the other, a clip's stretch at a time.
Frames inside gradual transitions belong to no clip. The queue is bounded by the segmenter's latency plus
one run of decoded frames, so memory stays flat however long the video is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from toonset.analyze.base import ClipConsumer, ClipContext
from toonset.analyze.shots import Boundary
from toonset.io.frames import DecodedFrame


class Segmenter(Protocol):
    boundaries: list[Boundary]
    final_upto: int

    def push(self, frame: DecodedFrame) -> None: ...

    def flush(self) -> None: ...


@dataclass
class ClipSpan:
    ctx: ClipContext
    end_frame: int
    end_time: float
    transition_in: str
    transition_out: str


ClipDone = Callable[[ClipSpan, dict[str, Any]], None]


class ClipRouter:
    def __init__(self, segmenter: Segmenter, consumers: Sequence[ClipConsumer], on_clip: ClipDone,
                 source_id: str, fps: float) -> None:
        self.segmenter = segmenter
        self.consumers = list(consumers)
        self.keep_pixels = any(c.needs_pixels for c in self.consumers)
        self.on_clip = on_clip
        self.source_id = source_id
        self.fps = fps
        self._queue: deque[DecodedFrame] = deque()
        self._next = 0  # index into segmenter.boundaries
        self._clip: ClipContext | None = None
        self._last_index = -1
        self._transition_in = "start"
        self.clip_count = 0
        self.max_queue = 0

    def push(self, frame: DecodedFrame) -> None:
        self.push_run((frame,))

    def push_run(self, frames: Sequence[DecodedFrame]) -> None:
        """Frames in decoded order. The segmenter sees the whole run first; then each consumer takes the
        frames that became ready, a clip's stretch at a time (each analyzer keeps its data in the CPU caches
        for many frames instead of taking turns frame by frame)."""
        for frame in frames:
            self.segmenter.push(frame)
            if not self.keep_pixels:
                frame.release()
            self._queue.append(frame)
        self.max_queue = max(self.max_queue, len(self._queue))
        self._drain(self.segmenter.final_upto)

    def finish(self, end_time: float) -> None:
        self.segmenter.flush()
        self._drain(None)
        self._close(self._last_index + 1, end_time, "end")

    def _close(self, end_frame: int, end_time: float, transition_out: str) -> None:
        if self._clip is None:
            return
        fields: dict[str, Any] = {}
        for consumer in self.consumers:
            fields.update(consumer.end_clip())
        span = ClipSpan(self._clip, end_frame, end_time, self._transition_in, transition_out)
        self._clip = None
        self.on_clip(span, fields)

    def _drain(self, upto: int | None) -> None:
        bounds = self.segmenter.boundaries
        stretch: list[DecodedFrame] = []  # ready frames of the current clip, not yet given to the consumers
        while self._queue and (upto is None or self._queue[0].index < upto):
            frame = self._queue.popleft()
            in_transition = False
            while self._next < len(bounds) and frame.index >= bounds[self._next].start:
                b = bounds[self._next]
                self._feed(stretch)
                self._close(frame.index, frame.time, b.kind)
                self._transition_in = b.kind
                if frame.index < b.end:
                    in_transition = True
                    break
                self._next += 1
            if in_transition:
                frame.release()
                continue
            if self._clip is None:
                self._clip = ClipContext(
                    self.source_id, f"{self.source_id}-{frame.index:07d}", self.clip_count,
                    frame.index, frame.time, self.fps,
                )
                self.clip_count += 1
                for consumer in self.consumers:
                    consumer.start_clip(self._clip)
            stretch.append(frame)
            self._last_index = frame.index
        self._feed(stretch)

    def _feed(self, stretch: list[DecodedFrame]) -> None:
        """Each consumer takes the stretch in order, one consumer after the other (they are independent per
        frame), then the frames let go of their pixels."""
        if not stretch:
            return
        for consumer in self.consumers:
            for frame in stretch:
                consumer.process(frame)
        for frame in stretch:
            frame.release()
        stretch.clear()
