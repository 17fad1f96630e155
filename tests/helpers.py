"""Test helpers: write small videos from numpy frames with PyAV (no ffmpeg binary)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_video(path: str | Path, frames: list[np.ndarray], fps: Fraction | int = 24, codec: str = "libx264",
                pix_fmt: str = "yuv420p", rotation: int | None = None, container: str | None = None,
                crf: int = 18, audio: bool = False, options: dict[str, str] | None = None) -> Path:
    """Encode RGB uint8 frames to a video file; returns the path. ``options``: x264 options instead of the
    default fast ones (``crf`` and preset ultrafast)."""
    path = Path(path)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        if codec == "libx264":
            stream.options = options or {"crf": str(crf), "preset": "ultrafast"}
        if rotation is not None:
            stream.set_display_rotation(rotation) if hasattr(stream, "set_display_rotation") else None
        astream = out.add_stream("aac", rate=44100) if audio else None
        for i, rgb in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            vf.pts = i
            for p in stream.encode(vf):
                out.mux(p)
        for p in stream.encode(None):
            out.mux(p)
        if astream is not None:
            samples = np.zeros((1, 1024), np.float32)
            for i in range(max(1, len(frames) * 44100 // int(Fraction(fps)) // 1024)):
                af = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
                af.sample_rate = 44100
                af.pts = i * 1024
                for p in astream.encode(af):
                    out.mux(p)
            for p in astream.encode(None):
                out.mux(p)
    return path


def scene(seed: int, w: int = 160, h: int = 96) -> np.ndarray:
    """A flat-coloured 'background' with a few shapes, distinct per seed."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = rng.integers(30, 225, 3)
    for _ in range(4):
        c = tuple(int(x) for x in rng.integers(0, 255, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.rectangle(img, (x, y), (x + int(rng.integers(10, w // 2)), y + int(rng.integers(8, h // 2))), c, -1)
        cv2.rectangle(img, (x, y), (x + 20, y + 14), (0, 0, 0), 2)
    return img


def with_figure(bg: np.ndarray, pose: int) -> np.ndarray:
    """Draw a simple outlined 'character' in a pose-dependent position over a background."""
    import cv2

    img = bg.copy()
    h, w = img.shape[:2]
    x = w // 3 + (pose * 7) % (w // 3)
    y = h // 2 + (pose * 5) % (h // 4)
    cv2.circle(img, (x, y), 12, (250, 220, 180), -1)
    cv2.circle(img, (x, y), 12, (0, 0, 0), 2)
    cv2.line(img, (x, y + 12), (x + (pose % 3 - 1) * 15, y + 30), (0, 0, 0), 3)
    return img


def copy_dataset(built: Path, tmp_path: Path) -> Path:
    """A private copy of a built dataset (tests that annotate or change it must not share one)."""
    import shutil

    shutil.copytree(built, tmp_path / "ds")
    return tmp_path / "ds"
