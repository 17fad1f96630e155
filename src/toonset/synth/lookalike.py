"""Look-alike clips and their copies: the hard cases for near-duplicate detection, with exact truth.

A *family* shares one palette, one background and one character design; each *member* of the family is a
different piece of animation (its own sequence of drawings) over that same set-up. Members look alike
but are not duplicates. :func:`copy_variants` makes true duplicates of a member: a re-encode at another
quality, another resolution, another frame rate (2:3 pulldown to 29.97 fps, the same drawings) and a
plain re-mux. Dedup must join every copy with its original and keep every family member apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from toonset.synth.background import draw_background, random_background
from toonset.synth.character import draw_character, next_pose, random_design, random_pose
from toonset.synth.encode import Mp4Writer
from toonset.synth.palette import random_palette


@dataclass(frozen=True)
class LookalikeClip:
    """One written video: its path, which animation it shows (``family``/``member``) and how it was made."""

    path: Path
    family: int
    member: int
    variant: str  # "original", "crf", "small", "pulldown", "remux"

    @property
    def animation(self) -> tuple[int, int]:
        """Two clips are duplicates exactly when their ``animation`` is equal."""
        return (self.family, self.member)


def member_drawings(family: int, member: int, drawings: int = 12, width: int = 320,
                    height: int = 180) -> list[np.ndarray]:
    """The drawings (RGB frames) of one family member: the family's set-up, the member's own poses."""
    rng = np.random.default_rng([family, 7])
    palette = random_palette(rng, float(rng.uniform(0, 360)))
    background = draw_background(random_background(rng, palette, width, height))
    design = random_design(rng, palette, height / 180 * 1.9)
    x, y = width * rng.uniform(0.4, 0.6), height * 1.2
    pose_rng = np.random.default_rng([family, member, 8])
    pose = random_pose(pose_rng, width * 0.1)
    frames = []
    for _ in range(drawings):
        img = background.copy()
        draw_character(img, design, pose, x, y)
        frames.append(img)
        pose = next_pose(pose_rng, pose, "normal", width * 0.1)
    return frames


def _write(path: Path, frames: list[np.ndarray], fps: Fraction, crf: int) -> Path:
    h, w = frames[0].shape[:2]
    with Mp4Writer(path, w, h, fps, crf=crf, preset="veryfast", gop=48) as writer:
        for f in frames:
            writer.write(np.ascontiguousarray(f))
    return path


def on_twos(drawings: list[np.ndarray]) -> list[np.ndarray]:
    """Each drawing held two frames (24 fps animation on twos)."""
    return [d for d in drawings for _ in range(2)]


def pulldown(frames: list[np.ndarray]) -> list[np.ndarray]:
    """24 → 30 frames per second by repeating every fourth frame (the drawings and their order stay)."""
    out = []
    for i, f in enumerate(frames):
        out.append(f)
        if i % 4 == 3:
            out.append(f)
    return out


def write_member(folder: str | Path, family: int, member: int, drawings: int = 12) -> LookalikeClip:
    """Write the original of one family member (24 fps, on twos, 320x180)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = on_twos(member_drawings(family, member, drawings))
    path = _write(folder / f"f{family:03d}-m{member:02d}-original.mp4", frames, Fraction(24), crf=18)
    return LookalikeClip(path, family, member, "original")


def copy_variants(original: LookalikeClip, folder: str | Path, drawings: int = 12) -> list[LookalikeClip]:
    """True duplicates of ``original``: stronger compression, half size, 29.97 fps pulldown, re-mux."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fam, mem = original.family, original.member
    frames = on_twos(member_drawings(fam, mem, drawings))
    stem = f"f{fam:03d}-m{mem:02d}"
    out = [LookalikeClip(_write(folder / f"{stem}-crf.mp4", frames, Fraction(24), crf=34), fam, mem, "crf")]
    small = [cv2.resize(f, (f.shape[1] // 2, f.shape[0] // 2), interpolation=cv2.INTER_AREA) for f in frames]
    out.append(LookalikeClip(_write(folder / f"{stem}-small.mp4", small, Fraction(24), crf=23), fam, mem, "small"))
    out.append(LookalikeClip(_write(folder / f"{stem}-pulldown.mp4", pulldown(frames), Fraction(30000, 1001),
                                    crf=23), fam, mem, "pulldown"))
    out.append(LookalikeClip(remux(original.path, folder / f"{stem}-remux.mkv"), fam, mem, "remux"))
    return out


def remux(src: str | Path, dst: str | Path) -> Path:
    """Copy the video packets of ``src`` into another container without re-encoding (same decoded frames)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        in_stream = inp.streams.video[0]
        stream = out.add_stream_from_template(in_stream)
        for packet in inp.demux(in_stream):
            if packet.dts is None:
                continue
            packet.stream = stream
            out.mux(packet)
    return Path(dst)


def write_lookalike_set(folder: str | Path, families: int = 3, members: int = 3, copies_of: int = 1,
                        drawings: int = 12) -> list[LookalikeClip]:
    """``families`` x ``members`` look-alike originals, plus the copy variants of the first ``copies_of``
    members of every family. Returns every clip written, originals first."""
    clips = [write_member(folder, f, m, drawings) for f in range(families) for m in range(members)]
    copies = [c for clip in clips if clip.member < copies_of for c in copy_variants(clip, folder, drawings)]
    return clips + copies
