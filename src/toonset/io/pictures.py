"""Keyframe pictures: one still image per new drawing, stored once in the clip's shard entry.

Annotators (OCR, tags, faces …) read these instead of decoding the source again. The consumer runs after
the timing analyzer in the same decode pass: a frame timing has already ruled out as a new drawing gets no
picture; every other frame is shrunk (longer side ``keyframes.max_side``), encoded, and spooled; at the end
of the clip the pictures of frames that did not become keyframes are dropped. Names follow the
WebDataset convention, ``<clip_id>.kf.<frame>.<ext>`` with the source frame index zero-padded to 7 digits
(the same index as the ``keyframes`` table's ``frame``).
"""

from __future__ import annotations

import os
from typing import Any

import cv2

from toonset.analyze.base import ClipContext
from toonset.analyze.fingerprint import KeyframeSource
from toonset.config import KeyframesConfig
from toonset.errors import UsageError
from toonset.io.frames import DecodedFrame

PICTURE_FORMATS = ("jpg", "webp", "png")


def picture_member(frame: int, fmt: str) -> str:
    """The shard member extension of a keyframe picture (after ``<clip_id>.``)."""
    return f"kf.{frame:07d}.{fmt}"


def check_keyframe_settings(cfg: KeyframesConfig) -> None:
    if cfg.format not in PICTURE_FORMATS:
        raise UsageError(f"keyframes.format = {cfg.format!r}; choose from {', '.join(PICTURE_FORMATS)}")
    if not 1 <= cfg.quality <= 100:
        raise UsageError(f"keyframes.quality = {cfg.quality}: must be 1-100")
    if cfg.max_side < 0 or 0 < cfg.max_side < 16:
        raise UsageError(f"keyframes.max_side = {cfg.max_side}: 0 (source size) or at least 16")


def encode_picture(bgr, fmt: str, quality: int) -> bytes:
    params = {"jpg": [cv2.IMWRITE_JPEG_QUALITY, quality], "webp": [cv2.IMWRITE_WEBP_QUALITY, quality],
              "png": [cv2.IMWRITE_PNG_COMPRESSION, 3]}[fmt]
    ok, buf = cv2.imencode(f".{fmt}", bgr, params)
    if not ok:
        raise RuntimeError(f"could not encode a {fmt} picture of size {bgr.shape[1]}x{bgr.shape[0]}")
    return buf.tobytes()


class KeyframePictures:
    """Clip consumer: ``end_clip`` returns ``_keyframe_pictures`` (frame index → spooled picture file)."""

    name = "media.keyframes"
    version = "1.0"
    needs_pixels = True

    def __init__(self, cfg: KeyframesConfig, keyframes: KeyframeSource, spool_dir: str) -> None:
        self.cfg = cfg
        self.keyframes = keyframes
        self.spool_dir = spool_dir

    def start_clip(self, clip: ClipContext) -> None:
        self._clip = clip
        self._files: dict[int, str] = {}

    def process(self, frame: DecodedFrame) -> None:
        if frame.index in getattr(self.keyframes, "ruled_out", ()):
            return
        data = encode_picture(frame.small_bgr(self.cfg.max_side), self.cfg.format, self.cfg.quality)
        path = os.path.join(self.spool_dir, f"{self._clip.clip_id}.{picture_member(frame.index, self.cfg.format)}")
        with open(path, "wb") as fh:
            fh.write(data)
        self._files[frame.index] = path

    def end_clip(self) -> dict[str, Any]:
        keep = set(self.keyframes.keyframe_indices)
        out: dict[int, str] = {}
        for index, path in self._files.items():
            if index in keep:
                out[index] = path
            else:
                os.unlink(path)
        self._files = {}
        return {"_keyframe_pictures": out}
