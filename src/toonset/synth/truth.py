"""The ground-truth record of a generated video (written beside it as JSON)."""

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
                "bbox": list(
                    layout_caption(
                        caption.text, caption.style, caption.place, options.width, options.height
                    ).bbox
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
    }


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
