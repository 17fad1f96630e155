"""toonset.synth: encoded h264 cartoons whose ground truth matches what a decoder actually sees."""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from toonset.synth import SynthOptions, generate_set, generate_video
from toonset.synth.planner import plan_video
from toonset.synth.render import render_video
from toonset.synth.timeline import place_shots

SHORT = SynthOptions(min_shot_frames=16, max_shot_frames=40)  # six shots: every hard case, ~170 frames
HARD_KINDS = {"flash_shot", "split_screen", "boil", "explosion", "same_palette"}


def decode(path: Path) -> tuple[np.ndarray, Fraction]:
    """All frames as one (n, h, w, 3) uint8 array, and the stream's average rate."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(stream)])
        return frames, Fraction(stream.average_rate)


def step_differences(frames: np.ndarray) -> np.ndarray:
    """Mean absolute difference of every frame from the previous one (frame 0 gets infinity)."""
    steps = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    return np.concatenate([[np.inf], steps])


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, np.ndarray, Fraction]:
    path = tmp_path_factory.mktemp("clean") / "cartoon.mp4"
    truth = generate_video(path, seed=7, options=SHORT)
    frames, rate = decode(path)
    return path, truth, frames, rate


def test_file_decodes_to_exactly_the_declared_frames(clean):
    path, truth, frames, rate = clean
    assert frames.shape == (truth["frame_count"], truth["height"], truth["width"], 3)
    assert (truth["width"], truth["height"]) == (SHORT.width, SHORT.height)
    assert rate == Fraction(truth["fps"]) == Fraction(24)
    assert truth["fps_float"] == 24.0
    assert json.loads(path.with_suffix(".json").read_text()) == truth
    assert truth["file"] == "cartoon.mp4" and truth["generator"] == "toonset.synth"
    assert not [p.name for p in path.parent.iterdir() if "partial" in p.name]


def test_same_seed_gives_the_same_video_and_truth(clean, tmp_path):
    _, truth, frames, _ = clean
    again = generate_video(tmp_path / "cartoon.mp4", seed=7, options=SHORT)
    assert again == truth
    frames_again, _ = decode(tmp_path / "cartoon.mp4")
    assert hashlib.sha256(frames_again.tobytes()).digest() == hashlib.sha256(frames.tobytes()).digest()
    other = generate_video(tmp_path / "other.mp4", seed=8, options=SHORT)
    assert other["new_drawing"] != truth["new_drawing"]


def test_truth_is_self_consistent(clean):
    _, truth, _, _ = clean
    n, shots = truth["frame_count"], truth["shots"]
    assert sum(truth["holds"]) == n
    assert truth["keyframes"] == [i for i, new in enumerate(truth["new_drawing"]) if new]
    assert len(truth["new_drawing"]) == n and truth["keyframes"][0] == 0
    assert all(hold >= 1 for hold in truth["holds"])

    covered = [i for shot in shots for i in range(shot["start_frame"], shot["end_frame"])]
    blended = [i for t in truth["transitions"] for i in range(t["start_frame"], t["end_frame"])]
    assert sorted(covered + blended) == list(range(n))

    assert truth["shot_starts"] == sorted(truth["shot_starts"]) == [s["start_frame"] for s in shots[1:]]
    assert [t["shot_start"] for t in truth["transitions"]] == truth["shot_starts"]
    assert shots[0]["transition_in"] == "start"
    for shot, transition in zip(shots[1:], truth["transitions"]):
        assert shot["transition_in"] == transition["type"]
        assert transition["end_frame"] == transition["shot_start"]
        if transition["type"] == "cut":
            assert transition["start_frame"] == transition["shot_start"]
        else:
            assert 6 <= transition["end_frame"] - transition["start_frame"] <= 24


def test_new_drawing_is_set_wherever_the_picture_must_change(clean):
    _, truth, _, _ = clean
    new = truth["new_drawing"]
    must = {0, *truth["shot_starts"], *truth["flash_frames"], *(f + 1 for f in truth["flash_frames"])}
    must |= {i for t in truth["transitions"] for i in range(t["start_frame"], t["end_frame"])}
    must |= {i for p in truth["pans"] for i in range(p["start_frame"], p["end_frame"])}
    must |= {i for e in truth["explosions"] for i in range(e["start_frame"], e["end_frame"])}
    must |= set(truth["big_pose_changes"])
    assert all(new[i] for i in must)
    assert 0 < sum(new) < len(new)  # there are held drawings


def test_flash_frames_and_text_lie_strictly_inside_shots(clean):
    _, truth, _, _ = clean
    inside = [(s["start_frame"], s["end_frame"]) for s in truth["shots"]]
    assert truth["flash_frames"]
    for frame in truth["flash_frames"]:
        assert any(start < frame and frame + 1 < end for start, end in inside)
    assert truth["text"]
    for text in truth["text"]:
        assert any(start < text["start_frame"] < text["end_frame"] < end for start, end in inside)
        x0, y0, x1, y1 = text["bbox"]
        assert 0 <= x0 < x1 <= truth["width"] and 0 <= y0 < y1 <= truth["height"] and text["text"]


def test_decoded_frames_change_exactly_where_the_truth_says(clean):
    _, truth, frames, _ = clean
    steps = step_differences(frames)
    kinds = {shot["start_frame"]: shot["kind"] for shot in truth["shots"]}
    for transition in truth["transitions"]:
        if transition["type"] == "cut":
            floor = 15 if kinds[transition["shot_start"]] == "same_palette" else 25
            assert steps[transition["shot_start"]] > floor
    held = steps[np.array(truth["new_drawing"]) == 0]
    assert np.percentile(held, 95) < 0.5 and held.max() < 5  # I-frames may pulse a little
    for frame in truth["flash_frames"]:
        assert steps[frame] > 10


def test_caption_appears_inside_its_box(clean):
    _, truth, frames, _ = clean
    for text in truth["text"]:
        x0, y0, x1, y1 = text["bbox"]
        before, during = frames[text["start_frame"] - 1], frames[text["start_frame"]]
        region = np.abs(during[y0:y1, x0:x1].astype(int) - before[y0:y1, x0:x1]).mean()
        assert region > 10


def test_pans_move_the_picture_in_the_direction_of_dx(clean):
    _, truth, frames, _ = clean
    assert truth["pans"]
    gray = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32) for frame in frames]
    for pan in truth["pans"]:
        shifts = [
            cv2.phaseCorrelate(gray[i - 1], gray[i])[0][0]
            for i in range(pan["start_frame"] + 1, pan["end_frame"])
        ]
        assert np.sign(np.median(shifts)) == np.sign(pan["dx_per_frame"])


def test_hard_cases_are_present(clean):
    _, truth, _, _ = clean
    shots = truth["shots"]
    assert {shot["kind"] for shot in shots} >= HARD_KINDS
    for index, shot in enumerate(shots):
        if shot["kind"] == "flash_shot":
            assert shot["end_frame"] - shot["start_frame"] == 2
            assert shot["transition_in"] == "cut" and shots[index + 1]["transition_in"] == "cut"
        if shot["kind"] == "same_palette":
            assert shot["transition_in"] == "cut" and shot["framing"] != shots[index - 1]["framing"]
        if shot["kind"] == "split_screen":
            assert shot["panels"] == 2
    assert truth["explosions"] and truth["big_pose_changes"]
    assert not set(truth["big_pose_changes"]) & set(truth["shot_starts"])
    assert {t["type"] for t in truth["transitions"]} - {"cut"}


def test_split_screen_redraws_one_panel_at_a_time():
    plan = plan_video(7, SHORT)
    frames = list(render_video(plan, SHORT.width, SHORT.height))
    shot = next(placed for placed in place_shots(plan) if placed.plan.kind == "split_screen")
    caption_edges = {
        shot.start + edge for caption in shot.plan.captions for edge in (caption.start, caption.end)
    }
    half, gap = SHORT.width // 2, 6
    redrawn = 0
    for i in range(shot.start + 1, shot.end):
        if i in caption_edges or np.array_equal(frames[i], frames[i - 1]):
            continue
        left = not np.array_equal(frames[i][:, : half - gap], frames[i - 1][:, : half - gap])
        right = not np.array_equal(frames[i][:, half + gap :], frames[i - 1][:, half + gap :])
        assert left != right
        redrawn += 1
    assert redrawn >= 3


def test_without_hard_cases_every_shot_is_normal(tmp_path):
    options = SynthOptions(num_shots=3, min_shot_frames=12, max_shot_frames=20, hard_cases=False)
    truth = generate_video(tmp_path / "plain.mp4", seed=1, options=options)
    assert {shot["kind"] for shot in truth["shots"]} == {"normal"}
    assert len(truth["shots"]) == 3


def test_grain_and_weave_make_held_frames_differ(tmp_path):
    options = SynthOptions(
        num_shots=2, min_shot_frames=24, max_shot_frames=30, hard_cases=False, grain=4.0, weave=2.0
    )
    truth = generate_video(tmp_path / "film.mp4", seed=3, options=options)
    frames, _ = decode(tmp_path / "film.mp4")
    held = [i for i, new in enumerate(truth["new_drawing"]) if not new]
    assert held
    assert all(not np.array_equal(frames[i], frames[i - 1]) for i in held)
    offsets = np.array(truth["weave_offsets"])
    assert offsets.shape == (truth["frame_count"], 2) and np.abs(offsets).max() <= 2 and offsets.any()


def test_generate_set_varies_frame_rate_and_film_look(tmp_path):
    options = SynthOptions(num_shots=2, min_shot_frames=8, max_shot_frames=12)
    paths = generate_set(tmp_path, count=4, seed=5, options=options)
    assert [p.name for p in paths] == [f"synth_{i:04d}.mp4" for i in range(4)]
    truths = [json.loads(p.with_suffix(".json").read_text()) for p in paths]
    assert [t["fps"] for t in truths] == ["24/1", "24000/1001", "30000/1001", "12/1"]
    assert [t["options"]["grain"] > 0 for t in truths] == [False, True, False, True]
    for path, truth in zip(paths, truths):
        frames, rate = decode(path)
        assert len(frames) == truth["frame_count"] and rate == Fraction(truth["fps"])
    again = generate_set(tmp_path / "again", count=1, seed=5, options=options)
    assert json.loads(again[0].with_suffix(".json").read_text())["new_drawing"] == truths[0]["new_drawing"]


def test_generate_set_keeps_requested_grain_and_uniform_sets_keep_everything(tmp_path):
    options = SynthOptions(num_shots=1, min_shot_frames=6, max_shot_frames=8, grain=3.0)
    varied = [
        json.loads(p.with_suffix(".json").read_text()) for p in generate_set(tmp_path / "v", 2, 1, options)
    ]
    assert [t["options"]["grain"] for t in varied] == [3.0, 3.0]
    uniform = generate_set(tmp_path / "u", 2, 1, options, vary=False)
    for path in uniform:
        assert json.loads(path.with_suffix(".json").read_text())["options"]["fps_num"] == 24


def test_options_are_validated(tmp_path):
    options = SynthOptions()
    options.width = 99  # options are a plain dataclass (the CLI sets fields); generation re-checks them
    with pytest.raises(ValueError):
        generate_video(tmp_path / "bad.mp4", 0, options)
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError):
        SynthOptions(width=321)
    with pytest.raises(ValueError):
        SynthOptions(min_shot_frames=50, max_shot_frames=40)
    with pytest.raises(ValueError):
        SynthOptions(grain=-1)
