"""Generate synthetic cartoon videos with exact ground truth: one video, or a varied set."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from toonset.synth.encode import Mp4Writer
from toonset.synth.film import add_grain, black_bars, flicker, frame_with_bars, shift, to_mono, weave_offset
from toonset.synth.options import SynthOptions
from toonset.synth.planner import plan_video
from toonset.synth.render import render_video
from toonset.synth.timeline import VideoPlan
from toonset.synth.truth import build_truth

SET_FRAME_RATES = ((24, 1), (24000, 1001), (30000, 1001), (12, 1))  # cycled through by generate_set


def generate_video(path: str | Path, seed: int, options: SynthOptions | None = None) -> dict[str, Any]:
    """Write the video for ``seed`` to ``path`` (mp4) and its truth to ``path`` with a ``.json`` suffix.

    Returns the truth dict. ``new_drawing`` compares each clean rendered frame with the previous one,
    before grain, weave, flicker and compression are applied (but after black-and-white and bars, so a
    change hidden under a bar is no new drawing). With ``options.stress`` the video also carries the
    in-shot stress cases listed under ``events`` in the truth; ``mono`` and ``bars`` change only how the
    same plan is shown.
    """
    options = options or SynthOptions()
    options.validate()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plan = plan_video(seed, options)
    film_rng = np.random.default_rng([seed, 1])
    flicker_rng = np.random.default_rng([seed, 3])  # its own stream: grain and weave stay as they were
    box = options.picture
    bars = box != (0, 0, options.width, options.height)
    new_drawing: list[int] = []
    weave_offsets: list[tuple[int, int]] = []
    previous: np.ndarray | None = None
    with Mp4Writer(
        path,
        options.width,
        options.height,
        options.fps,
        crf=options.crf,
        preset=options.preset,
        gop=options.gop,
    ) as writer:
        for frame in clean_frames(plan, options):
            new_drawing.append(int(previous is None or not np.array_equal(previous, frame)))
            previous = frame
            offset = weave_offset(film_rng, options.weave)
            weave_offsets.append(offset)
            shown = add_grain(shift(frame, *offset), film_rng, options.grain)
            shown = flicker(shown, flicker_rng, options.flicker)
            writer.write(black_bars(shown, box) if bars else shown)
    truth = build_truth(plan, options, seed, path.name, new_drawing, weave_offsets)
    _write_json(path.with_suffix(".json"), truth)
    return truth


def clean_frames(plan: VideoPlan, options: SynthOptions) -> Iterator[np.ndarray]:
    """Every frame of ``plan`` as the truth describes it: rendered (into the picture box when the video
    has bars), in grey with ``mono``, between black bars; before weave, grain, flicker and compression."""
    box = options.picture
    bars = box != (0, 0, options.width, options.height)
    for picture in render_video(plan, box[2] - box[0], box[3] - box[1]):
        frame = to_mono(picture) if options.mono else picture
        yield frame_with_bars(frame, box, options.width, options.height) if bars else frame


def generate_set(
    out_dir: str | Path, count: int, seed: int = 0, options: SynthOptions | None = None, vary: bool = True
) -> list[Path]:
    """Write ``synth_0000.mp4`` ... ``synth_{count-1}`` (with their .json) into ``out_dir``.

    With ``vary`` (the default) each video departs from ``options`` in frame rate (cycling through
    24, 24000/1001, 30000/1001 and 12), compression (crf within 5 of the given one) and shot count (up to
    2 more); when ``options`` asks for no grain and no weave, every other video gets both. Without
    ``vary`` every video uses ``options`` as given. Deterministic for the same arguments.
    """
    base = options or SynthOptions()
    base.validate()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        state = np.random.SeedSequence([seed, index])
        video_seed = int(state.generate_state(1)[0])
        video_options = _variant(base, index, np.random.default_rng(state)) if vary else base
        path = out / f"synth_{index:04d}.mp4"
        generate_video(path, video_seed, video_options)
        paths.append(path)
    return paths


def _variant(base: SynthOptions, index: int, rng: np.random.Generator) -> SynthOptions:
    """The settings of the ``index``-th video of a varied set."""
    fps_num, fps_den = SET_FRAME_RATES[index % len(SET_FRAME_RATES)]
    grain, weave = base.grain, base.weave
    if grain == 0 and weave == 0 and index % 2 == 1:
        grain, weave = round(float(rng.uniform(2.0, 6.0)), 2), float(rng.integers(1, 3))
    return replace(
        base,
        fps_num=fps_num,
        fps_den=fps_den,
        num_shots=base.num_shots + int(rng.integers(0, 3)),
        crf=int(np.clip(base.crf + rng.integers(-5, 6), 0, 51)),
        grain=grain,
        weave=weave,
    )


def _write_json(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` as JSON via a temp file in the same folder, then rename it into place."""
    temp = path.with_name(f".{path.stem}.partial.json")
    temp.write_text(json.dumps(record, separators=(",", ":")) + "\n")
    os.replace(temp, path)
