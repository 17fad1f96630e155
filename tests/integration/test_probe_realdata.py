"""Frame rate of real footage (../shared/realdata; skipped when absent): a 29.97 fps DVD transfer in a
Matroska file with a 1 ms time base (steps of 33 and 34 ms) is 30000/1001 and CFR, both when probed and
after the decode pass; the Sakuga-42M demo clip is 24000/1001."""

from __future__ import annotations

from fractions import Fraction

import pytest

from toonset.config import DecodeConfig
from toonset.ingest.local import SourceRef
from toonset.io.decode import open_reader
from toonset.io.probe import probe

pytestmark = pytest.mark.integration


def _path(realdata, *parts):
    path = realdata.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{'/'.join(parts)} is not in realdata")
    return path


def test_dvd_transfer_is_nominal_29_97_and_cfr(realdata):
    path = _path(realdata, "popeye-1936-loc", "vob", "Title_T03-4.mkv")
    info = probe(str(path))
    assert info.time_base == Fraction(1, 1000)
    assert (info.fps, info.fps_mode) == (Fraction(30000, 1001), "cfr")
    assert info.as_dict()["fps_fraction"] == "30000/1001"
    with open_reader(SourceRef(str(path)), DecodeConfig(analysis_width=64)) as r:
        for _ in r.frames():
            pass
        rate = r.frame_rate
    assert (rate.fps, rate.mode) == (Fraction(30000, 1001), "cfr")
    assert rate.average != rate.fps  # the PTS span alone would not give 30000/1001


def test_sakuga42m_demo_clip_is_23_976(realdata):
    path = _path(realdata, "sakuga42m-demo", "140633.mp4")
    info = probe(str(path))
    assert (info.fps, info.fps_mode) == (Fraction(24000, 1001), "cfr")
    with open_reader(SourceRef(str(path)), DecodeConfig(analysis_width=64)) as r:
        for _ in r.frames():
            pass
        assert (r.frame_rate.fps, r.frame_rate.mode) == (Fraction(24000, 1001), "cfr")
