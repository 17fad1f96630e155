"""Frame rate: the nominal rate for constant-frame-rate streams (29.97, not 29.982 from the PTS span), the PTS
average for variable ones, and which of the two a stream is."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from tests.helpers import scene, write_video
from tests.hostile import encode, vfr_pts_ms

from toonset.config import DecodeConfig
from toonset.ingest.local import SourceRef
from toonset.io.decode import open_reader
from toonset.io.framerate import decide_frame_rate, nominal_rate, snap_rate
from toonset.io.probe import probe

NTSC, FILM = Fraction(30000, 1001), Fraction(24000, 1001)


def deltas_of(pts, time_base) -> np.ndarray:
    """PTS steps in seconds, as the decode pass records them."""
    return np.diff(np.asarray(pts, dtype=np.float64)) * float(time_base)


def test_29_97_in_a_millisecond_time_base_is_nominal_and_cfr():
    tb = Fraction(1, 1000)
    pts = [round(i * 1000 / NTSC) for i in range(1800)]  # steps of 33 and 34 ms
    d = deltas_of(pts, tb)
    assert set(np.rint(d * 1000).astype(int)) == {33, 34}
    for hints in [(), (Fraction(29982, 1000),), (Fraction(29982, 1000), NTSC, Fraction(1000))]:
        rate = decide_frame_rate(d, tb, hints)
        assert (rate.fps, rate.mode) == (NTSC, "cfr"), hints
        assert not rate.vfr
    # the PTS average is kept alongside, and it is not the nominal rate
    assert rate.average == Fraction(1799 * 1000, pts[-1]) and rate.average != NTSC


def test_29_97_with_extra_tick_jitter_is_cfr():
    tb = Fraction(1, 90000)
    rng = np.random.default_rng(0)
    pts = [i * 3003 + int(rng.integers(-2, 3)) for i in range(3000)]  # +-2 ticks around the grid
    rate = decide_frame_rate(deltas_of(pts, tb), tb, (NTSC,))
    assert (rate.fps, rate.mode) == (NTSC, "cfr")


def test_variable_steps_are_vfr_at_the_pts_average():
    tb = Fraction(1, 1000)
    pts = vfr_pts_ms(96)  # steps of 40, 40, 80, 120 ms
    rate = decide_frame_rate(deltas_of(pts, tb), tb, (Fraction(25), Fraction(25)))
    assert rate.mode == "vfr" and rate.vfr
    assert rate.fps == rate.average == Fraction(95 * 1000, pts[-1] - pts[0])


def test_a_24_then_30_fps_stream_is_vfr():
    tb = Fraction(1, 90000)
    film = [i * 3754 for i in range(600)]  # 23.976
    video = [film[-1] + (i + 1) * 3003 for i in range(600)]  # then 29.97
    rate = decide_frame_rate(deltas_of(film + video, tb), tb, (NTSC, FILM))
    assert rate.mode == "vfr"
    assert FILM < rate.fps < NTSC


def test_24_fps_exact():
    tb = Fraction(1, 12288)
    pts = [i * 512 for i in range(240)]
    rate = decide_frame_rate(deltas_of(pts, tb), tb, (Fraction(24),))
    assert (rate.fps, rate.mode, rate.average) == (Fraction(24), "cfr", Fraction(24))


def test_gif_like_10_fps_with_100_ms_durations():
    tb = Fraction(1, 100)
    pts = [i * 10 for i in range(44)]
    for hints in [(Fraction(10),), (Fraction(100),), ()]:  # a gif's guessed rate can be 1 / time base
        rate = decide_frame_rate(deltas_of(pts, tb), tb, hints)
        assert (rate.fps, rate.mode) == (Fraction(10), "cfr"), hints


def test_gif_delays_7_7_6_are_15_fps():
    tb = Fraction(1, 100)
    steps = [7, 7, 6] * 30
    pts = np.concatenate(([0], np.cumsum(steps)))
    rate = decide_frame_rate(deltas_of(pts, tb), tb, (Fraction(100, 7),))
    assert (rate.fps, rate.mode) == (Fraction(15), "cfr")


def test_3_2_pulldown_field_timestamps_are_film_rate_cfr():
    tb = Fraction(1001, 60000)  # one field
    fields = np.cumsum([0] + [2, 3] * 200)  # frames held for 2 and 3 fields in turn
    rate = decide_frame_rate(deltas_of(fields, tb), tb, (NTSC,))
    assert (rate.fps, rate.mode) == (FILM, "cfr")


def test_exact_30_with_a_29_97_label_is_30():
    tb = Fraction(1, 90000)
    pts = [i * 3000 for i in range(3000)]  # 0.1% faster than the label: drifts 3 frames off its grid
    rate = decide_frame_rate(deltas_of(pts, tb), tb, (NTSC,))
    assert (rate.fps, rate.mode) == (Fraction(30), "cfr")


def test_field_rate_label_on_frame_rate_content():
    tb = Fraction(1, 90000)
    pts = [i * 3003 for i in range(600)]
    rate = decide_frame_rate(deltas_of(pts, tb), tb, (Fraction(60000, 1001),))  # r_frame_rate of interlaced
    assert (rate.fps, rate.mode) == (NTSC, "cfr")


def test_one_lost_run_of_packets_keeps_a_long_stream_cfr_but_many_gaps_do_not():
    tb = Fraction(1, 90000)
    slots = [i for i in range(2000) if not 700 <= i < 760]  # 60 frames lost in one place
    rate = decide_frame_rate(deltas_of([s * 3003 for s in slots], tb), tb, (NTSC,))
    assert (rate.fps, rate.mode) == (NTSC, "cfr")
    slots = [i for i in range(2000) if i % 10 != 5]  # a dropped frame every 10: a phone in low light
    rate = decide_frame_rate(deltas_of([s * 3003 for s in slots], tb), tb, (NTSC,))
    assert rate.mode == "vfr" and rate.fps == rate.average


def test_nothing_to_measure_takes_the_metadata_rate():
    assert decide_frame_rate([], Fraction(1, 1000), (Fraction(29982, 1000),)).fps == NTSC
    assert decide_frame_rate([], None, (0, None, Fraction(2000))).fps == Fraction(24)  # fallback
    one = decide_frame_rate([0.04], Fraction(1, 1000), ())
    assert (one.fps, one.mode) == (Fraction(25), "cfr")


def test_snap_only_within_a_tenth_of_a_percent():
    assert snap_rate(Fraction(29982, 1000)) == NTSC
    assert snap_rate(Fraction(1199, 50)) == FILM  # 23.98
    assert snap_rate(Fraction(24)) == Fraction(24)
    assert snap_rate(Fraction(14)) is None and snap_rate(Fraction(2985, 100)) is None
    assert nominal_rate([None, Fraction(0), Fraction(25)]) == Fraction(25)


def test_probe_and_decode_report_the_nominal_rate_of_a_matroska_file(tmp_path):
    path = write_video(tmp_path / "ntsc.mkv", [scene(i // 6) for i in range(90)], fps=NTSC, container="matroska")
    info = probe(str(path))
    assert info.time_base == Fraction(1, 1000)  # steps of 33 and 34 ms
    assert (info.fps, info.fps_mode) == (NTSC, "cfr")
    assert info.as_dict()["fps_fraction"] == "30000/1001" and info.as_dict()["fps_mode"] == "cfr"
    with open_reader(SourceRef(str(path)), DecodeConfig(analysis_width=64)) as r:
        for _ in r.frames():
            pass
        assert (r.frame_rate.fps, r.frame_rate.mode, r.frame_rate.vfr) == (NTSC, "cfr", False)


def test_probe_and_decode_report_the_average_of_a_vfr_file(tmp_path):
    pts = vfr_pts_ms(48)
    path = encode(tmp_path / "vfr.mp4", [scene(i) for i in range(48)], pts=pts, time_base=Fraction(1, 1000))
    info = probe(str(path))
    assert info.fps_mode == "vfr" and info.as_dict()["fps_mode"] == "vfr"
    assert float(info.fps) == pytest.approx(47 / ((pts[-1] - pts[0]) / 1000))
    with open_reader(SourceRef(str(path)), DecodeConfig(analysis_width=64)) as r:
        for _ in r.frames():
            pass
        assert r.frame_rate.vfr and r.frame_rate.fps == info.fps
