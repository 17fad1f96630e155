"""The ground-truth record of a generated video (written beside it as JSON).

Besides shots, transitions, per-frame new-drawing flags, holds, text, pans and explosions, it holds
``picture`` (the box of the frame the picture fills: all of it unless the video has bars) and ``events``:
the in-shot stress cases of a stress video (none otherwise), each a dict with ``kind`` (``occlusion``,
``impact_mix``, ``lighting``, ``fire``, ``smear`` or ``smooth_motion``), ``shot`` (its index),
``start_frame`` and ``end_frame`` (global frames, end exclusive) and details of its kind. None of them is a
shot boundary; a detector that cuts inside one (or on its ``end_frame``, where the shot reappears) is wrong.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from toonset.synth.captions import layout_caption
from toonset.synth.options import SynthOptions
from toonset.synth.timeline import PlacedShot, VideoPlan, place_shots

GENERATOR = "toonset.synth"
VERSION = 1


def build_truth(
    plan: VideoPlan,
    options: SynthOptions,
    seed: int,
    file_name: str,
    new_drawing: list[int],
    weave_offsets: list[tuple[int, int]],
) -> dict[str, Any]:
    """The truth dict; ``new_drawing`` must come from comparing the clean rendered frames."""
    placed = place_shots(plan)
    frame_count = plan.frame_count
    if len(new_drawing) != frame_count:
        raise ValueError(f"rendered {len(new_drawing)} frames, the plan has {frame_count}")
    keyframes = [i for i, new in enumerate(new_drawing) if new]
    x0, y0, x1, y1 = options.picture
    return {
        "generator": GENERATOR,
        "version": VERSION,
        "seed": seed,
        "options": asdict(options),
        "file": file_name,
        "width": options.width,
        "height": options.height,
        "fps": f"{options.fps.numerator}/{options.fps.denominator}",
        "fps_float": float(options.fps),
        "frame_count": frame_count,
        "shots": [_shot(shot) for shot in placed],
        "shot_starts": [shot.start for shot in placed[1:]],
        "transitions": [_transition(shot) for shot in placed[1:]],
        "picture": [x0, y0, x1, y1],
        "flash_frames": [
            shot.start + i
            for shot in placed
            for flash in shot.plan.flashes
            for i in range(flash.start, flash.end)
        ],
        "new_drawing": new_drawing,
        "keyframes": keyframes,
        "holds": [end - start for start, end in zip(keyframes, [*keyframes[1:], frame_count])],
        "text": [
            {
                "start_frame": shot.start + caption.start,
                "end_frame": shot.start + caption.end,
                "bbox": _offset(
                    layout_caption(caption.text, caption.style, caption.place, x1 - x0, y1 - y0).bbox, x0, y0
                ),
                "text": caption.text,
                "style": caption.style,
            }
            for shot in placed
            for caption in shot.plan.captions
        ],
        "pans": [
            {"start_frame": shot.start + pan.start, "end_frame": shot.start + pan.end, "dx_per_frame": pan.dx}
            for shot in placed
            if (pan := shot.plan.pan) is not None
        ],
        "explosions": [
            {"start_frame": shot.start + burst.start, "end_frame": shot.start + burst.end}
            for shot in placed
            if (burst := shot.plan.explosion) is not None
        ],
        "big_pose_changes": [
            shot.start + shot.plan.drawings[0].index(number)
            for shot in placed
            for number in shot.plan.big_changes
        ],
        "weave_offsets": [list(offset) for offset in weave_offsets],
        "events": sorted(
            (event for index, shot in enumerate(placed) for event in _events(index, shot)),
            key=lambda event: (event["start_frame"], event["kind"]),
        ),
    }


def _offset(bbox: tuple[int, int, int, int], dx: int, dy: int) -> list[int]:
    x0, y0, x1, y1 = bbox
    return [x0 + dx, y0 + dy, x1 + dx, y1 + dy]


def _events(index: int, shot: PlacedShot) -> list[dict[str, Any]]:
    """The stress cases inside ``shot`` with global frame numbers (see the module docstring)."""
    plan, at = shot.plan, shot.start
    events: list[dict[str, Any]] = []

    def add(kind: str, start: int, end: int, **details: Any) -> None:
        events.append(
            {"kind": kind, "shot": index, "start_frame": at + start, "end_frame": at + end, **details}
        )

    for sweep in plan.occlusions:
        add(
            "occlusion",
            sweep.start,
            sweep.end,
            direction=sweep.direction,
            cover_start=at + sweep.cover_start,
            cover_end=at + sweep.cover_end,
        )
    for flash in plan.flashes:
        if flash.mixed:
            add("impact_mix", flash.start, flash.end, styles=list(flash.styles))
    for light in plan.lighting:
        if light.mode == "fire":
            add("fire", light.start, light.end, step=light.step)
        else:
            add("lighting", light.start, light.end, mode=light.mode, returns=light.end < plan.length)
    for smear in plan.smears:
        add("smear", smear.start, smear.end, dx=smear.dx)
    if (motion := plan.motion) is not None:
        add(
            "smooth_motion",
            0,
            plan.length,
            drift=motion.drift,
            zoom_from=motion.zoom_from,
            zoom_to=motion.zoom_to,
        )
    return events


def _shot(shot: PlacedShot) -> dict[str, Any]:
    plan = shot.plan
    return {
        "start_frame": shot.start,
        "end_frame": shot.end,
        "transition_in": plan.transition_in.type,
        "timing": plan.timing,
        "pan": plan.pan is not None,
        "kind": plan.kind,
        "framing": plan.framing,
        "panels": len(plan.drawings),
    }


def _transition(shot: PlacedShot) -> dict[str, Any]:
    transition = shot.plan.transition_in
    record: dict[str, Any] = {
        "type": transition.type,
        "start_frame": shot.transition_start,
        "end_frame": shot.start,
        "shot_start": shot.start,
    }
    if transition.color is not None:
        record["color"] = list(transition.color)
    return record
