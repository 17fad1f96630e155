"""The clip router: frames reach every clip consumer once, in order, inside their clip's brackets, however
they are pushed (frame by frame or in runs)."""

from __future__ import annotations

import numpy as np
import pytest

from toonset.analyze.router import ClipRouter
from toonset.analyze.shots import Boundary
from toonset.io.frames import DecodedFrame


class FixedSegmenter:
    """Known boundaries, each final ``latency`` frames after it was seen."""

    name, version = "fixed", "0"

    def __init__(self, boundaries: list[Boundary], latency: int) -> None:
        self._all = boundaries
        self.latency = latency
        self.boundaries: list[Boundary] = []
        self.final_upto = 0
        self.n = 0

    def push(self, frame: DecodedFrame) -> None:
        self.n += 1
        self.final_upto = max(0, self.n - self.latency)
        self.boundaries = [b for b in self._all if b.start < self.final_upto]  # final before frames pass it

    def flush(self) -> None:
        self.final_upto = self.n
        self.boundaries = list(self._all)


class Recorder:
    name, version, needs_pixels = "recorder", "0", False

    def __init__(self, log: list) -> None:
        self.log = log

    def start_clip(self, clip) -> None:
        self.log.append(("start", clip.start_frame))

    def process(self, frame: DecodedFrame) -> None:
        self.log.append(("frame", frame.index))

    def end_clip(self) -> dict:
        self.log.append(("end",))
        return {}


def _route(n: int, runs: list[int], boundaries: list[Boundary]) -> tuple[list, list, list]:
    logs: tuple[list, list] = ([], [])
    clips: list = []
    router = ClipRouter(FixedSegmenter(boundaries, latency=5), [Recorder(logs[0]), Recorder(logs[1])],
                        lambda span, fields: clips.append((span.ctx.start_frame, span.end_frame)), "src", 24.0)
    frames = [DecodedFrame(i, i / 24, np.zeros((4, 4), np.uint8), np.zeros((2, 2, 2), np.uint8)) for i in range(n)]
    pos = 0
    for size in runs:
        router.push_run(frames[pos : pos + size])
        pos += size
    assert pos == n
    router.finish(n / 24)
    return logs[0], logs[1], clips


@pytest.mark.parametrize("runs", [[1] * 40, [40], [7, 3, 1, 29], [13, 13, 14]])
def test_runs_deliver_every_clip_frame_once_in_order(runs):
    bounds = [Boundary("cut", 10, 10), Boundary("fade", 20, 24), Boundary("cut", 33, 33)]
    first, second, clips = _route(40, runs, bounds)
    assert clips == [(0, 10), (10, 20), (24, 33), (33, 40)]
    expected = []
    for start, end in clips:
        expected += [("start", start), *(("frame", i) for i in range(start, end)), ("end",)]
    assert first == expected  # transition frames 20-23 reach no consumer
    assert second == expected
    assert (first, second, clips) == _route(40, [1] * 40, bounds)
