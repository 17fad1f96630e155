"""Per-frame state of the online analyzers stays bounded however long the video is."""

from __future__ import annotations

import numpy as np
import pytest

from toonset.analyze.series import FrameSeries, RecentValues
from toonset.analyze.shots import ShotDetector
from toonset.io.frames import DecodedFrame


def test_frame_series_reads_like_a_list_within_its_window():
    s = FrameSeries(keep=5)
    for i in range(12):
        s.append(float(i))
    assert len(s) == 12 and s[11] == 11.0 and s[-1] == 11.0 and s[7] == 7.0
    assert s[8:11] == [8.0, 9.0, 10.0] and s[10:20] == [10.0, 11.0]
    assert s[7:12] == [7.0, 8.0, 9.0, 10.0, 11.0]  # at least the last `keep` values stay readable
    assert len(s._vals) < 2 * s.keep  # and at most twice that is kept
    with pytest.raises(IndexError):
        s[1]  # left the window: loud, never a silent stale value
    r = RecentValues(span=3)
    for i in range(20):
        r[i] = float(i)
    assert len(r) <= 6 and r.get(19) == 19.0 and r.get(2, 0.0) == 0.0


def test_shot_detector_memory_does_not_grow_with_length():
    rng = np.random.default_rng(0)
    det = ShotDetector()
    scenes = [rng.integers(0, 255, (24, 40), np.uint8) for _ in range(4)]
    # each scene has its own tint: four grey noise fields share one grey-level histogram, and a cut needs
    # the structure *and* the colours to change (see docs/shots.md, "same-palette cuts")
    tints = [np.full((2, 6, 10), 128, np.uint8) + np.array([dx, dy], np.uint8)[:, None, None]
             for dx, dy in ((0, 0), (40, 0), (0, 40), (40, 40))]
    sizes = []
    for i in range(3000):
        luma = scenes[(i // 50) % 4].copy()
        luma[i % 20, :] = 255  # a moving line: every frame differs a little
        det.push(DecodedFrame(i, i / 24, luma, tints[(i // 50) % 4]))
        if i in (999, 2999):
            sizes.append((len(det._win), len(det._order), len(det.mad._vals), len(det.strength)))
    det.flush()
    for win, order, series, strength in sizes:  # the same bounds after 1000 and after 3000 frames
        assert win <= det.keep + 1 and order <= det.keep + 1
        assert series < 2 * det.mad.keep and strength <= 2 * det.keep
    assert len(det._win) <= det.keep + 1 and len(det.strength) <= 2 * det.keep
    assert 40 <= len([b for b in det.boundaries if b.kind == "cut"]) <= 60  # a cut every 50 frames
