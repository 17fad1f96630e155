"""Keyframe pictures: one still image per new drawing, stored once in the clip's shard entry.

Annotators (OCR, tags, faces …) read these instead of decoding the source again. The consumer runs after
the timing analyzer in the same decode pass: a frame timing has already ruled out as a new drawing gets no
picture; every other frame is shrunk (longer side ``keyframes.max_side``), encoded, and appended to one spool file per clip;
at the end of the clip only the byte ranges of the frames that became keyframes are kept (the task copies
them into its shard). Names follow the
WebDataset convention, ``<clip_id>.kf.<frame>.<ext>`` with the source frame index zero-padded to 7 digits
(the same index as the ``keyframes`` table's ``frame``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import cv2
import numpy as np

from toonset.analyze.base import ClipContext
from toonset.analyze.fingerprint import KeyframeSource
from toonset.config import KeyframesConfig, check_max_side
from toonset.errors import UsageError
from toonset.io.frames import DecodedFrame, fit_size, split_i420

try:  # libjpeg-turbo straight from Y/U/V planes: no colour conversion, no chroma resampling (~2x cheaper)
    import simplejpeg
except ImportError:  # pragma: no cover - a core dependency; the OpenCV path stays correct without it
    simplejpeg = None

# limited-range (video) levels to the full range JFIF expects: Y 16-235 → 0-255, Cb/Cr 16-240 → 0-255
_Y_FULL = np.clip(np.round((np.arange(256) - 16) * 255.0 / 219.0), 0, 255).astype(np.uint8)
_C_FULL = np.clip(np.round((np.arange(256) - 128) * 255.0 / 224.0 + 128), 0, 255).astype(np.uint8)

PICTURE_FORMATS = ("jpg", "webp", "png")


def picture_member(frame: int, fmt: str) -> str:
    """The shard member extension of a keyframe picture (after ``<clip_id>.``)."""
    return f"kf.{frame:07d}.{fmt}"


def picture_frames(members: Iterable[str]) -> dict[int, str]:
    """frame index → member extension, for the ``kf.<frame>.<ext>`` members of one clip (the inverse of
    ``picture_member``)."""
    out: dict[int, str] = {}
    for ext in members:
        parts = ext.split(".")
        if len(parts) == 3 and parts[0] == "kf" and parts[1].isdigit():
            out[int(parts[1])] = ext
    return out


def check_keyframe_settings(cfg: KeyframesConfig) -> None:
    if cfg.format not in PICTURE_FORMATS:
        raise UsageError(f"keyframes.format = {cfg.format!r}; choose from {', '.join(PICTURE_FORMATS)}")
    if not 1 <= cfg.quality <= 100:
        raise UsageError(f"keyframes.quality = {cfg.quality}: must be 1-100")
    check_max_side("keyframes.max_side", cfg.max_side)


def encode_picture(bgr, fmt: str, quality: int) -> bytes:
    params = {"jpg": [cv2.IMWRITE_JPEG_QUALITY, quality], "webp": [cv2.IMWRITE_WEBP_QUALITY, quality],
              "png": [cv2.IMWRITE_PNG_COMPRESSION, 3]}[fmt]
    ok, buf = cv2.imencode(f".{fmt}", bgr, params)
    if not ok:
        raise RuntimeError(f"could not encode a {fmt} picture of size {bgr.shape[1]}x{bgr.shape[0]}")
    return buf.tobytes()


def jpeg_from_i420(buf: np.ndarray, width: int, height: int, quality: int) -> bytes:
    """A JPEG of limited-range I420 planes (``DecodedFrame.i420``), levels expanded to full range."""
    y, u, v = split_i420(buf, width, height)
    return simplejpeg.encode_jpeg_yuv_planes(cv2.LUT(y, _Y_FULL), cv2.LUT(u, _C_FULL), cv2.LUT(v, _C_FULL),
                                             quality=quality)


def keyframe_picture(frame: DecodedFrame, cfg: KeyframesConfig) -> bytes:
    """The stored picture of one frame: JPEG from the shrunk 4:2:0 planes when possible (shared with the
    clip encoder when both want the same size), else through BGR and OpenCV."""
    if cfg.format == "jpg" and simplejpeg is not None:
        w, h = fit_size(*frame.display_size(), cfg.max_side)
        planes = frame.i420(w, h)
        if planes is not None:
            return jpeg_from_i420(planes, w, h, cfg.quality)
    return encode_picture(frame.small_bgr(cfg.max_side), cfg.format, cfg.quality)


class KeyframePictures:
    """Clip consumer: ``end_clip`` returns ``_keyframe_pictures``: shard member (``kf.<frame>.<ext>``) →
    (spool file, byte offset, size) of the keyframe's encoded picture."""

    name = "media.keyframes"
    version = "1.1"  # 1.1: JPEG straight from the shrunk 4:2:0 planes
    needs_pixels = True

    def __init__(self, cfg: KeyframesConfig, keyframes: KeyframeSource, spool_dir: str) -> None:
        self.cfg = cfg
        self.keyframes = keyframes
        self.spool_dir = spool_dir

    def start_clip(self, clip: ClipContext) -> None:
        self._clip = clip
        self._path = os.path.join(self.spool_dir, f"{clip.clip_id}.kf.spool")
        self._fh = None
        self._ranges: dict[int, tuple[int, int]] = {}

    def process(self, frame: DecodedFrame) -> None:
        if frame.index in getattr(self.keyframes, "ruled_out", ()):
            return
        data = keyframe_picture(frame, self.cfg)
        if self._fh is None:
            self._fh = open(self._path, "wb")  # noqa: SIM115 - one file for the clip's whole stretch of frames
        self._ranges[frame.index] = (self._fh.tell(), len(data))
        self._fh.write(data)

    def end_clip(self) -> dict[str, Any]:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        keep = set(self.keyframes.keyframe_indices)
        out = {picture_member(i, self.cfg.format): (self._path, off, n) for i, (off, n) in self._ranges.items()
               if i in keep}
        self._ranges = {}
        return {"_keyframe_pictures": out}
