"""toonset.synth stress options: in-shot hard cases with exact truth, black-and-white film and bars.

Also pins the default generator: without the new options every seed must still give exactly the plan, the
frames and the truth it gave before they existed (the shot and timing benchmarks depend on them).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from toonset.synth import SynthOptions, generate_video
from toonset.synth.generate import clean_frames
from toonset.synth.planner import plan_video
from toonset.synth.render import ShotRenderer, render_video
from toonset.synth.timeline import VideoPlan, place_shots

STRESS = SynthOptions(min_shot_frames=16, max_shot_frames=40, stress=True)  # ~270 frames, every case
FILM = SynthOptions(
    num_shots=3,
    min_shot_frames=16,
    max_shot_frames=30,
    stress=True,
    mono=True,
    bars="pillarbox",
    grain=3.0,
    flicker=0.03,
)
STRESS_KINDS = {"occlusion", "impact_mix", "lighting", "fire", "smear", "smooth_motion"}
PLAIN = ("white", "black")


def decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


def step_differences(frames: np.ndarray) -> np.ndarray:
    """Mean absolute difference of every frame from the previous one (frame 0 gets infinity)."""
    steps = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    return np.concatenate([[np.inf], steps])


@pytest.fixture(scope="module")
def stress(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, np.ndarray, list[np.ndarray]]:
    path = tmp_path_factory.mktemp("stress") / "stress.mp4"
    truth = generate_video(path, seed=7, options=STRESS)
    clean = list(clean_frames(plan_video(7, STRESS), STRESS))
    return path, truth, decode(path), clean


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, np.ndarray, list[np.ndarray]]:
    path = tmp_path_factory.mktemp("film") / "film.mp4"
    truth = generate_video(path, seed=5, options=FILM)
    return truth, decode(path), list(clean_frames(plan_video(5, FILM), FILM))


def events_of(truth: dict, kind: str) -> list[dict]:
    return [event for event in truth["events"] if event["kind"] == kind]


# ------------------------------------------------------------------------------- default unchanged
# Computed with the generator as it was before the stress options existed (opencv 5.1.0, numpy 2.4.6).
LEGACY_FIELDS = (
    "kind",
    "timing",
    "transition_in",
    "drawings",
    "framing",
    "hue",
    "palette_seed",
    "layout_seed",
    "big_changes",
    "pan",
    "flashes",
    "explosion",
    "captions",
    "boil_period",
)
LEGACY_PLANS = "349a941d18a5a903e4114d8ee0d458f2107e741d714eb1cff76616bd49ac6b94"
LEGACY_FRAMES = "f834fd99222c25303f903037b42eff49d4eb4581fccf06bbfab5126e9de12176"
LEGACY_TRUTH = "32af0d2b8cf1cfc5bfd7611fbee3d1a1f5c12e9c1fd44ff22d6e8bbeae9faec4"
SHORT = SynthOptions(min_shot_frames=16, max_shot_frames=40)


def legacy_repr(plan: VideoPlan) -> str:
    """``repr(plan)`` as it read before ShotPlan got its stress fields."""
    shots = [
        "ShotPlan(" + ", ".join(f"{name}={getattr(shot, name)!r}" for name in LEGACY_FIELDS) + ")"
        for shot in plan.shots
    ]
    return f"VideoPlan(shots=({', '.join(shots)}{',' if len(shots) == 1 else ''}))"


def test_default_plans_are_unchanged():
    digest = hashlib.sha256()
    for options in (
        SynthOptions(),
        SHORT,
        SynthOptions(num_shots=3, hard_cases=False),
        SynthOptions(num_shots=9, width=640, height=360),
    ):
        for seed in range(6):
            plan = plan_video(seed, options)
            assert plan == plan_video(
                seed, replace(options, stress=False, mono=False, bars=None, flicker=0.0)
            )
            for shot in plan.shots:
                assert shot.kind != "smooth" and shot.motion is None
                assert not (shot.occlusions or shot.lighting or shot.smears)
                assert not any(flash.mixed for flash in shot.flashes)
            digest.update(legacy_repr(plan).encode())
    assert digest.hexdigest() == LEGACY_PLANS


def test_default_frames_and_truth_are_unchanged(tmp_path):
    if cv2.__version__ != "5.1.0":
        pytest.skip("the recorded pixels were drawn by opencv 5.1.0")
    digest = hashlib.sha256()
    for frame in render_video(plan_video(7, SHORT), SHORT.width, SHORT.height):
        digest.update(frame.tobytes())
    assert digest.hexdigest() == LEGACY_FRAMES
    truth = generate_video(tmp_path / "v7.mp4", 7, SHORT)  # the file name is in the truth
    assert truth.pop("events") == [] and truth.pop("picture") == [0, 0, SHORT.width, SHORT.height]
    for name in ("stress", "mono", "flicker", "bars"):
        truth["options"].pop(name)
    assert hashlib.sha256(json.dumps(truth, sort_keys=True).encode()).hexdigest() == LEGACY_TRUTH


# ------------------------------------------------------------------------------------- stress plan
def test_every_stress_case_is_planned_inside_a_shot_and_clear_of_the_others():
    for seed in range(40):
        options = SynthOptions(
            num_shots=2 + seed % 7,
            min_shot_frames=12,
            max_shot_frames=48,
            stress=True,
            hard_cases=seed % 4 > 0,
        )
        plan = plan_video(seed, options)
        assert plan == plan_video(seed, options) and len(plan.shots) == options.num_shots
        assert sum(shot.kind == "smooth" for shot in plan.shots) == 1 and plan.shots[0].kind != "smooth"
        seen = set()
        for shot in plan.shots:
            spans = [(o.start, o.end) for o in shot.occlusions] + [(s.start, s.end) for s in shot.smears]
            spans += [(f.start, f.end) for f in shot.flashes]
            spans += [(light.start, light.end) for light in shot.lighting]
            for start, end in spans:
                assert 2 <= start < end <= shot.length
            if shot.explosion is not None:
                spans.append((shot.explosion.start, shot.explosion.end))
            spans.sort()
            assert all(end <= start for (_, end), (start, _) in pairwise(spans))
            assert all(end <= shot.length - 2 for _, end in spans if end != shot.length)
            for light in shot.lighting:
                seen.add("fire" if light.mode == "fire" else "lighting")
            seen |= {"occlusion"} if shot.occlusions else set()
            seen |= {"smear"} if shot.smears else set()
            for flash in shot.flashes:
                if flash.mixed:
                    seen.add("impact_mix")
                    assert 2 <= len(flash.styles) <= 4 and any(style in PLAIN for style in flash.styles)
                    assert all(a != b for a, b in zip(flash.styles, flash.styles[1:]))
            if shot.kind == "smooth":
                seen.add("smooth_motion")
                assert shot.timing == "ones" and shot.drawings == (tuple(range(shot.length)),)
                assert shot.motion is not None and abs(shot.motion.drift) >= 0.25
        assert seen == STRESS_KINDS


# ------------------------------------------------------------------------------------ stress video
def test_stress_video_is_deterministic(stress, tmp_path):
    path, truth, frames, _ = stress
    again = generate_video(tmp_path / "again.mp4", seed=7, options=STRESS)
    assert again == {**truth, "file": "again.mp4"}
    assert np.array_equal(decode(tmp_path / "again.mp4"), frames)
    assert json.loads(path.with_suffix(".json").read_text()) == truth
    assert generate_video(tmp_path / "other.mp4", 8, STRESS)["events"] != truth["events"]


def test_stress_truth_matches_the_rendered_frames(stress):
    _, truth, frames, clean = stress
    n = truth["frame_count"]
    assert len(frames) == len(clean) == n and {event["kind"] for event in truth["events"]} == STRESS_KINDS
    assert truth["new_drawing"] == [
        int(i == 0 or not np.array_equal(clean[i], clean[i - 1])) for i in range(n)
    ]
    plan = plan_video(7, STRESS)
    assert truth["shot_starts"] == [shot.start for shot in place_shots(plan)[1:]]  # cuts only where planned
    shots = truth["shots"]
    for event in truth["events"]:
        shot = shots[event["shot"]]
        start, end = event["start_frame"], event["end_frame"]
        if event["kind"] == "smooth_motion":
            assert (start, end) == (shot["start_frame"], shot["end_frame"]) and shot["kind"] == "smooth"
            continue
        assert shot["start_frame"] < start < end <= shot["end_frame"]
        assert not any(start <= cut < end for cut in truth["shot_starts"])
    new = truth["new_drawing"]
    must: set[int] = set()
    for event in truth["events"]:
        start, end = event["start_frame"], event["end_frame"]
        if event["kind"] in ("occlusion", "impact_mix", "smear"):
            must |= set(range(start, end + 1))  # every frame, and the one where the shot reappears
        elif event["kind"] == "smooth_motion":
            must |= set(range(start, end))  # a new picture on every frame
        elif event["kind"] == "fire":
            must |= set(range(start, end, event["step"])) | {end}
        else:
            must |= {start, end} if event["returns"] else {start}
    assert all(new[i] for i in must)
    mixed = {
        i for event in events_of(truth, "impact_mix") for i in range(event["start_frame"], event["end_frame"])
    }
    assert mixed <= set(truth["flash_frames"])


def test_occlusion_darkens_the_whole_picture_and_only_during_the_sweep(stress):
    _, truth, frames, clean = stress
    sweeps = events_of(truth, "occlusion")
    assert sweeps and any(
        sum(e["shot"] == other["shot"] for other in sweeps) >= 2 for e in sweeps
    )  # a shot with repeated sweeps
    for sweep in sweeps:
        assert 2 <= sweep["cover_end"] - sweep["cover_start"] <= 6
        for i in range(sweep["cover_start"], sweep["cover_end"]):
            assert (clean[i].max(axis=2) < 110).mean() > 0.9
            assert (frames[i].max(axis=2) < 120).mean() > 0.85  # and after compression
    plan = plan_video(7, STRESS)
    for placed in place_shots(plan):
        if not placed.plan.occlusions:
            continue
        with_sweeps = ShotRenderer(placed.plan, STRESS.width, STRESS.height)
        without = ShotRenderer(replace(placed.plan, occlusions=()), STRESS.width, STRESS.height)
        swept = {i for o in placed.plan.occlusions for i in range(o.start, o.end)}
        for i in range(placed.plan.length):  # the same shot before, between and after the sweeps
            assert np.array_equal(with_sweeps.frame(i), without.frame(i)) == (i not in swept)


def test_mixed_impact_runs_keep_the_scene_under_the_speed_lines(stress):
    _, _, _, clean = stress
    plan = plan_video(7, STRESS)
    checked = 0
    for placed in place_shots(plan):
        bare = ShotRenderer(replace(placed.plan, flashes=()), STRESS.width, STRESS.height)
        for flash in placed.plan.flashes:
            if not flash.mixed:
                continue
            for offset, style in enumerate(flash.styles):
                frame, scene = clean[placed.start + flash.start + offset], bare.frame(flash.start + offset)
                if style in PLAIN:  # blank paper (a caption may still be burned in on top)
                    assert np.all(frame == (255 if style == "white" else 0), axis=2).mean() > 0.9
                else:
                    same = np.all(frame == scene, axis=2).mean()
                    assert 0.4 < same < 0.97  # the scene shows through, with lines drawn over it
                checked += 1
    assert checked >= 2


def test_lighting_fire_and_smears_change_only_their_frames(stress):
    _, truth, _, _ = stress
    plan = plan_video(7, STRESS)
    for placed in place_shots(plan):
        shot = placed.plan
        if not (shot.lighting or shot.smears):
            continue
        lit = ShotRenderer(shot, STRESS.width, STRESS.height)
        plain = ShotRenderer(replace(shot, lighting=(), smears=()), STRESS.width, STRESS.height)
        touched = {i for e in (*shot.lighting, *shot.smears) for i in range(e.start, e.end)}
        for i in range(shot.length):
            a, b = lit.frame(i), plain.frame(i)
            assert np.array_equal(a, b) == (i not in touched)
            if i in touched and any(light.start <= i < light.end for light in shot.lighting):
                assert np.abs(a.astype(int) - b).mean() > 8  # the whole picture relit
    assert events_of(truth, "smear") and events_of(truth, "lighting") and events_of(truth, "fire")


def test_smooth_shot_moves_a_little_on_every_frame(stress):
    _, truth, _, clean = stress
    (event,) = events_of(truth, "smooth_motion")
    busy = {
        i
        for e in truth["events"]
        if e["kind"] != "smooth_motion"
        for i in range(e["start_frame"], e["end_frame"] + 1)
    }
    small = [
        np.abs(clean[i].astype(int) - clean[i - 1]).mean()
        for i in range(event["start_frame"] + 1, event["end_frame"])
        if i not in busy
    ]
    assert len(small) >= 8 and min(small) > 0 and max(small) < 10


def test_decoded_stress_video_cuts_only_where_the_truth_says(stress):
    _, truth, frames, _ = stress
    steps = step_differences(frames)
    kinds = {shot["start_frame"]: shot["kind"] for shot in truth["shots"]}
    for transition in truth["transitions"]:
        if transition["type"] == "cut" and kinds[transition["shot_start"]] != "same_palette":
            assert steps[transition["shot_start"]] > 25
    held = steps[np.array(truth["new_drawing"]) == 0]
    assert np.percentile(held, 95) < 0.5 and held.max() < 5


# --------------------------------------------------------------------------------- black and white
def test_mono_film_is_grey_between_black_bars(film):
    truth, frames, clean = film
    x0, y0, x1, y1 = truth["picture"]
    assert (x0, y0, x1, y1) == (38, 0, 282, 180) == FILM.picture
    assert truth["options"]["mono"] and truth["options"]["bars"] == "pillarbox"
    outside = np.ones((FILM.height, FILM.width), bool)
    outside[y0:y1, x0:x1] = False
    for frame in clean:
        assert (frame[..., 0] == frame[..., 1]).all() and (frame[..., 1] == frame[..., 2]).all()
        assert not frame[outside].any()
    decoded = frames.astype(int)
    assert (
        np.abs(decoded[..., 0] - decoded[..., 1]).max() <= 2
        and np.abs(decoded[..., 2] - decoded[..., 1]).max() <= 2
    )
    assert decoded[:, outside].mean() < 1.5 and np.percentile(decoded[:, outside], 99) < 8
    for text in truth["text"]:
        tx0, ty0, tx1, ty1 = text["bbox"]
        assert x0 <= tx0 < tx1 <= x1 and y0 <= ty0 < ty1 <= y1
    assert truth["new_drawing"] == [
        int(i == 0 or not np.array_equal(clean[i], clean[i - 1])) for i in range(len(clean))
    ]


def test_mono_film_cuts_stay_visible_and_grain_and_flicker_move_held_frames(film):
    truth, frames, _ = film
    steps = step_differences(frames)
    kinds = {shot["start_frame"]: shot["kind"] for shot in truth["shots"]}
    cuts = [t["shot_start"] for t in truth["transitions"] if t["type"] == "cut"]
    assert cuts
    for cut in cuts:
        assert steps[cut] > (12 if kinds[cut] == "same_palette" else 20)
    held = [i for i, new in enumerate(truth["new_drawing"]) if not new]
    assert held and all(not np.array_equal(frames[i], frames[i - 1]) for i in held)
    assert events_of(truth, "occlusion")  # big in-shot action in black and white too


def test_letterbox_puts_the_picture_between_bars_top_and_bottom(tmp_path):
    options = SynthOptions(num_shots=2, min_shot_frames=8, max_shot_frames=12, bars="letterbox")
    truth = generate_video(tmp_path / "letterbox.mp4", 3, options)
    assert truth["picture"] == [0, 22, 320, 158]
    clean = list(clean_frames(plan_video(3, options), options))
    assert all(not frame[:22].any() and not frame[158:].any() and frame[22:158].any() for frame in clean)
    assert not truth["events"] and not (clean[0][..., 0] == clean[0][..., 1]).all()  # colour, no stress


def test_new_options_are_validated():
    with pytest.raises(ValueError):
        SynthOptions(bars="windowbox")
    with pytest.raises(ValueError):
        SynthOptions(flicker=-0.1)
    with pytest.raises(ValueError):
        SynthOptions(width=80, bars="pillarbox")  # 60 px of picture left
    assert SynthOptions(width=640, height=360, bars="letterbox").picture == (0, 44, 640, 316)


def test_cli_passes_the_stress_options(monkeypatch, tmp_path):
    import toonset.synth
    from toonset.cli import main

    seen = {}

    def fake_generate_set(out, count, seed, options, vary):
        seen["options"] = options
        return []

    monkeypatch.setattr(toonset.synth, "generate_set", fake_generate_set)
    argv = ["synth", str(tmp_path), "--stress", "--mono", "--bars", "letterbox", "--flicker", "0.02"]
    assert main(argv) == 0
    options = seen["options"]
    assert options.stress and options.mono and options.bars == "letterbox" and options.flicker == 0.02
    assert main(["synth", str(tmp_path)]) == 0
    assert seen["options"] == SynthOptions()
