"""Smooth continuous motion is new drawings; grain, flicker, weave and isolated jitter are not."""

from __future__ import annotations

import json

import cv2
import numpy as np

from toonset.analyze.local_motion import local_motion
from toonset.analyze.timing import MOVING_TILES_MIN, TimingAnalyzer


def _texture(seed: int, h: int = 180, w: int = 320) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.uniform(0, 255, (h // 8, w // 8)).astype(np.float32), (w, h),
                     interpolation=cv2.INTER_CUBIC)
    return np.clip(img, 0, 255)


def _warp(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)


def _blur(img: np.ndarray) -> np.ndarray:
    return cv2.blur(np.clip(img, 0, 255).astype(np.uint8), (3, 3))


def test_a_local_sub_pixel_move_is_found_and_global_weave_grain_and_flicker_are_not():
    base = _texture(1)
    rng = np.random.default_rng(2)
    moved = base.copy()
    moved[40:120, 80:200] = _warp(base, 0.4, 0.0)[40:120, 80:200]  # one region drifts 0.4 px
    assert local_motion(_blur(base), _blur(moved)).moving >= 10
    weave = _warp(base, 0.5, -0.3)  # the whole picture shifts: gate weave, not a new drawing
    assert local_motion(_blur(base), _blur(weave)).moving <= 1
    grain = base + rng.normal(0, 3.0, base.shape)
    assert local_motion(_blur(base), _blur(grain), rms_min=max(1.0, 0.6 * 3.0)).moving < MOVING_TILES_MIN
    assert local_motion(_blur(base), _blur(base * 1.05 + 4)).moving < MOVING_TILES_MIN  # exposure flicker


def test_motion_field_reports_the_tile_speeds():
    base = _texture(3)
    moved = base.copy()
    moved[:, 160:] = _warp(base, 0.0, 0.5)[:, 160:]
    lm = local_motion(_blur(base), _blur(moved))
    assert lm.mask.shape == lm.speed.shape == (lm.tiles,)
    assert lm.moving == int(lm.mask.sum()) > 0
    assert 0.2 < float(np.median(lm.speed[lm.mask])) < 1.0


def test_isolated_smooth_changes_are_not_runs():
    runs = TimingAnalyzer.smooth_runs([False, True, False, True, True, False, True])
    assert runs == [False, False, False, True, True, False, False]


def test_smooth_shot_on_ones_is_keyframes_and_held_shots_stay_held(tmp_path):
    """The stress generator's smooth shot (sub-pixel drift, slow zoom, interpolated poses on every frame)
    is all new drawings; the other shots keep their holds."""
    from toonset.config import BuildConfig
    from toonset.evaluate.timing import new_drawing_prf
    from toonset.pipeline.single import analyze_video
    from toonset.synth import SynthOptions, generate_video

    opts = SynthOptions(stress=True, num_shots=3, min_shot_frames=24, max_shot_frames=40)
    truth = generate_video(tmp_path / "s.mp4", seed=5, options=opts)
    truth = json.loads((tmp_path / "s.json").read_text())
    smooth = [e for e in truth["events"] if e["kind"] == "smooth_motion"]
    assert smooth
    result = analyze_video(str(tmp_path / "s.mp4"), BuildConfig())
    keys = set(result["keyframes"])
    frames = [i for e in smooth for i in range(e["start_frame"] + 1, e["end_frame"]) if truth["new_drawing"][i]]
    assert sum(i in keys for i in frames) >= 0.95 * len(frames)
    # held drawings elsewhere stay held (frames next to the other stress events and to shot starts aside:
    # those test the shot detector, not timing)
    skip = {0} | {s["start_frame"] for s in truth["shots"]} | {s["start_frame"] for s in result["shots"]}
    skip |= {i for e in truth["events"] if e["kind"] != "smooth_motion"
             for i in range(e["start_frame"] - 3, e["end_frame"] + 3)}
    prf = new_drawing_prf(result["keyframes"], truth["new_drawing"], skip=sorted(skip))
    assert prf.precision >= 0.97, prf.as_dict()
