"""Shot detector on small hand-made sequences with known answers (the synthetic set tests the rest)."""

from __future__ import annotations

import numpy as np
from tests.helpers import scene, with_figure

from toonset.analyze.shots import ShotDetector, shots_from_boundaries
from toonset.config import DecodeConfig, ShotsConfig
from toonset.io.frames import DecodedFrame, yuv_to_analysis


def _decoded(rgbs: list[np.ndarray]) -> list[DecodedFrame]:
    import cv2

    out = []
    for i, rgb in enumerate(rgbs):
        ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
        luma, chroma, _ = yuv_to_analysis(ycc[..., 0], ycc[..., 2], ycc[..., 1], 0, DecodeConfig().analysis_width)
        out.append(DecodedFrame(i, i / 24, luma, chroma))
    return out


def _held_shot(seed: int, n: int, hold: int = 3) -> list[np.ndarray]:
    bg = scene(seed)
    return [with_figure(bg, i // hold) for i in range(n)]


def test_cuts_found_and_held_drawings_do_not_split():
    frames = _held_shot(1, 30) + _held_shot(2, 30, hold=12) + _held_shot(3, 20, hold=1)
    det = ShotDetector()
    bounds = det.detect_all(_decoded(frames))
    assert [(b.kind, b.end) for b in bounds] == [("cut", 30), ("cut", 60)]
    assert shots_from_boundaries(bounds, 80) == [(0, 30, "start", "cut"), (30, 60, "cut", "cut"), (60, 80, "cut", "end")]


def test_flash_frames_do_not_split_but_a_short_real_shot_does():
    a = _held_shot(1, 40, hold=4)
    white = np.full_like(a[0], 255)
    inverted = 255 - a[20]
    flashes = a[:20] + [white, inverted] + a[22:]
    det = ShotDetector()
    assert det.detect_all(_decoded(flashes)) == []
    other = _held_shot(9, 2, hold=2)
    insert = a[:20] + other + a[22:]
    ends = [b.end for b in ShotDetector().detect_all(_decoded(insert))]
    assert ends == [20, 22]



def test_a_leap_at_the_camera_over_the_same_background_is_no_short_shot():
    """A figure fills half the frame for one frame, then stays big: the picture two frames on looks like the
    one before the leap *and* like the frame just before it, so nothing came back from another scene."""
    import cv2

    bg = scene(4, 320, 192)

    def figure(cx: int, cy: int, r: int) -> np.ndarray:
        img = bg.copy()
        cv2.ellipse(img, (cx, cy), (int(r * 1.6), r), 0, 0, 360, (40, 20, 50), -1)
        cv2.ellipse(img, (cx, cy), (int(r * 1.6), r), 0, 0, 360, (0, 0, 0), 3)
        cv2.circle(img, (cx + r // 2, cy - r // 3), max(3, r // 6), (250, 250, 250), -1)
        return img

    frames = [figure(100 + 2 * i, 120, 14) for i in range(24)] + [figure(170, 96, 70)]
    frames += [figure(200 + 2 * i, 100, 40) for i in range(24)]
    det = ShotDetector()
    assert det.detect_all(_decoded(frames)) == []
    assert det.strength[24] >= 0.6  # the leap itself was a cut candidate (it used to become a 2-frame shot)


def test_a_burst_that_covers_the_shot_and_clears_is_no_cut_but_an_insert_is():
    """An effect longer than a flash (a spark burst over the whole picture, shrinking over 6-10 frames) leaves
    the same shot behind it: no cut. Another scene for as long, left by a cut back, is a short shot."""
    import cv2

    rng = np.random.default_rng(1)
    bg = np.full((96, 160, 3), 90, np.uint8)
    for _ in range(120):
        x, y = int(rng.integers(0, 150)), int(rng.integers(0, 90))
        bg[y : y + int(rng.integers(4, 14)), x : x + int(rng.integers(4, 18))] = rng.integers(0, 255, 3)

    def burst(size: float) -> np.ndarray:
        r, img = np.random.default_rng(0), bg.copy()
        for _ in range(40):
            a, length = r.uniform(0, 2 * np.pi), size * r.uniform(0.5, 1.0)
            end = (int(80 + length * np.cos(a)), int(48 + length * np.sin(a)))
            cv2.line(img, (80, 48), end, tuple(int(c) for c in r.integers(150, 256, 3)), int(r.integers(3, 9)))
        cv2.circle(img, (80, 48), int(size * 0.4), (255, 250, 200), -1)
        return img

    for n in (6, 10):
        frames = [bg] * 20 + [burst(120 * (1 - i / n)) for i in range(n)] + [bg] * 20
        det = ShotDetector()
        assert det.detect_all(_decoded(frames)) == [], n
        assert det.strength[20] >= 0.75  # the onset alone looks like a cut
        other = [cv2.resize(f, (160, 96)) for f in _held_shot(9, n, hold=2)]
        ends = [b.end for b in ShotDetector().detect_all(_decoded([bg] * 20 + other + [bg] * 20))]
        assert ends == [20, 20 + n], n


def test_a_dip_to_black_between_cuts_is_a_transition_not_a_black_shot():
    a, b = _held_shot(1, 30, hold=3), _held_shot(2, 30, hold=3)

    def black_frames(n: int) -> list[np.ndarray]:
        return [np.zeros_like(a[0])] * n

    for n in (2, 4, 8):
        black = [np.zeros_like(a[0])] * n
        bounds = ShotDetector().detect_all(_decoded(a + black + b))
        assert [(x.kind, x.start, x.end) for x in bounds] == [("fade", 30, 30 + n)], n
        assert shots_from_boundaries(bounds, 60 + n) == [(0, 30, "start", "fade"), (30 + n, 60 + n, "fade", "end")]
        # the same picture after the black: still no black shot
        again = ShotDetector().detect_all(_decoded(a + black + _held_shot(1, 30, hold=3)))
        assert [(x.kind, x.start, x.end) for x in again] in ([("fade", 30, 30 + n)], []), n
    white = [np.full_like(a[0], 255)] * 2
    assert ShotDetector().detect_all(_decoded(a + white + a)) == []  # a flash inside one shot
    # a video that opens and ends on black: those frames are fades, not shots; a long black opening stays
    frames = black_frames(5) + a + b + black_frames(7)
    bounds = ShotDetector().detect_all(_decoded(frames))
    assert [(x.kind, x.start, x.end) for x in bounds] == [("fade", 0, 5), ("cut", 35, 35), ("fade", 65, 72)]
    assert shots_from_boundaries(bounds, 72) == [(5, 35, "fade", "cut"), (35, 65, "cut", "fade")]
    assert [(x.kind, x.end) for x in ShotDetector().detect_all(_decoded(black_frames(20) + a))] == [("cut", 20)]
    # a pencil rough on white paper is a picture, not a blank opening
    import cv2

    rough, rng = np.full_like(a[0], 240), np.random.default_rng(3)
    for _ in range(8):
        cv2.line(rough, tuple(int(v) for v in rng.integers(0, [160, 96])),
                 tuple(int(v) for v in rng.integers(0, [160, 96])), (60, 60, 60), 1)
    assert [(x.kind, x.end) for x in ShotDetector().detect_all(_decoded([rough] * 5 + a))] == [("cut", 5)]

def test_fade_and_dissolve_are_gradual_transitions():
    a, b = _held_shot(1, 30, hold=30), _held_shot(5, 30, hold=30)
    black = np.zeros_like(a[0])
    fade = [(a[0] * (1 - t / 8)).astype(np.uint8) for t in range(1, 8)] + [black] * 4
    fade += [(b[0] * (t / 8)).astype(np.uint8) for t in range(1, 8)]
    bounds = ShotDetector().detect_all(_decoded(a + fade + b))
    assert len(bounds) == 1 and bounds[0].kind == "fade"
    assert 28 <= bounds[0].start <= 32 and 46 <= bounds[0].end <= 50
    mix = [(a[0] * (1 - t / 10) + b[0] * (t / 10)).astype(np.uint8) for t in range(1, 10)]
    bounds = ShotDetector().detect_all(_decoded(a + mix + b))
    assert len(bounds) == 1 and bounds[0].kind == "dissolve"
    assert 28 <= bounds[0].start <= 32 and 37 <= bounds[0].end <= 41



def test_light_fog_crossing_a_held_shot_is_no_dissolve():
    """Smooth change looks like a mix of the frames around it; a dissolve also needs another scene after it.
    Here the textured picture before and after the fog bank is the same."""
    rng = np.random.default_rng(4)
    bg = np.full((96, 160, 3), 90, np.uint8)
    for _ in range(120):
        x, y = int(rng.integers(0, 150)), int(rng.integers(0, 90))
        bg[y : y + int(rng.integers(4, 14)), x : x + int(rng.integers(4, 18))] = rng.integers(0, 255, 3)
    xx = np.arange(160, dtype=np.float32)[None, :, None]
    frames = []
    for i in range(30):
        fog = 0.4 * np.exp(-((xx - (-50 + i * 260 / 30)) ** 2) / (2 * 30.0**2))
        frames.append(np.clip(bg * (1 - fog) + 235 * fog, 0, 255).astype(np.uint8))
    assert ShotDetector().detect_all(_decoded(frames)) == []

def test_online_boundaries_are_final_and_latency_bounded():
    frames = _decoded(_held_shot(1, 30) + _held_shot(2, 60))
    det = ShotDetector(ShotsConfig())
    seen = []
    for f in frames:
        det.push(f)
        assert det.final_upto >= f.index + 1 - det.latency
        seen.append(list(det.boundaries))
    det.flush()
    for snapshot in seen:  # published boundaries never change afterwards
        assert det.boundaries[: len(snapshot)] == snapshot


def test_search_radius_grows_for_low_frame_rates():
    from toonset.analyze.shots import BASE_RADIUS, search_radius

    assert search_radius(None) == search_radius(23.976) == search_radius(60.0) == BASE_RADIUS
    assert search_radius(12.0) == 20 and search_radius(10.0) == 24 and search_radius(5.0) == 24  # capped
    assert ShotDetector(fps=10.0).search_radius == 24 and ShotDetector().search_radius == BASE_RADIUS
    # a 10 fps pan moving 22 px a frame (of 160) is one shot, and a cut after it is still found
    rng = np.random.default_rng(3)
    pano = np.hstack([scene(s, 160, 96) for s in range(11, 17)])
    for _ in range(120):
        x, y = int(rng.integers(0, pano.shape[1] - 20)), int(rng.integers(0, 90))
        pano[y : y + int(rng.integers(4, 14)), x : x + int(rng.integers(4, 18))] = rng.integers(0, 255, 3)
    pan = [pano[:, i * 22 : i * 22 + 160].copy() for i in range(30)]
    bounds = ShotDetector(fps=10.0).detect_all(_decoded(pan + _held_shot(40, 20, hold=2)))
    assert [(b.kind, b.end) for b in bounds] == [("cut", 30)]


def test_a_run_of_quick_cuts_is_one_transition_and_latency_stays_bounded():
    a, b = _held_shot(1, 30, hold=30), _held_shot(2, 30, hold=30)
    quick = [f for seed in (11, 12, 13) for f in _held_shot(seed, 2, hold=2)]  # 2-frame pictures
    det = ShotDetector()
    bounds = det.detect_all(_decoded(a + quick + b))
    # cuts at 30, 32, 34 and 36 would make 2-frame shots: it is one transition over those frames
    assert [(x.start, x.end) for x in bounds] == [(30, 36)] and bounds[0].kind in ("fade", "dissolve")
    pair = _held_shot(11, 2, hold=2)
    assert [(x.kind, x.start, x.end) for x in ShotDetector().detect_all(_decoded(a + pair + b))] == [
        ("cut", 30, 30), ("cut", 32, 32)]  # two cuts stay a genuine 2-frame shot
    strobe = [f for seed in range(20, 60) for f in _held_shot(seed, 2, hold=2)]  # 80 frames of quick cuts
    det = ShotDetector()
    for f in _decoded(a + strobe + b):
        det.push(f)
        assert det.final_upto >= f.index + 1 - det.latency  # a run never holds the stream back unboundedly
    det.flush()
    assert det.boundaries and all(x.start >= 28 and x.end <= 112 for x in det.boundaries)


def test_synthetic_cuts_next_to_flash_frames_and_a_short_fade_into_a_boiling_shot(tmp_path):
    """Seed 314: a cut between two shots of one palette with flash frames close by (a flash is no sign of a
    dynamic shot), and a 6-frame white fade into a boiling background (not four 2-frame shots)."""
    import json

    from toonset.pipeline.single import analyze_video
    from toonset.synth import SynthOptions, generate_set

    generate_set(tmp_path, count=4, seed=314, options=SynthOptions())
    for name in ("synth_0000", "synth_0003"):
        truth = json.loads((tmp_path / f"{name}.json").read_text())["transitions"]
        want = [(t["shot_start"], t["shot_start"]) if t["type"] == "cut" else (t["start_frame"], t["end_frame"])
                for t in truth]
        got = [(t["start_frame"], t["end_frame"]) for t in analyze_video(str(tmp_path / f"{name}.mp4"))["transitions"]]
        assert len(got) == len(want), (name, got, want)
        assert all(abs(g[0] - w[0]) <= 2 and abs(g[1] - w[1]) <= 2 for g, w in zip(got, want)), (name, got, want)


def test_colour_features_are_the_same_from_uint8_and_float_luma():
    """The detector hands its colour-scale luma to the histogram as uint8; a float copy of the same image
    (what callers outside the detector may pass) must give the same histogram."""
    from toonset.analyze import features as F

    rng = np.random.default_rng(7)
    luma = rng.integers(0, 256, (90, 160), dtype=np.uint8)
    chroma = rng.integers(0, 256, (2, 22, 40), dtype=np.uint8)
    small = F.small_luma(luma, chroma)
    assert small.dtype == np.uint8 and small.shape == (22, 40)
    h8 = F.colour_hist(small, chroma)
    hf = F.colour_hist(small.astype(np.float32), chroma)
    assert np.array_equal(h8, hf)
    assert abs(float(h8.sum()) - 1.0) < 1e-6 and np.count_nonzero(h8) > 1
