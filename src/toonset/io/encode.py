"""Re-encode each clip to its own frame-accurate MP4, in memory, while the decode pass streams by.

The encoder is a clip consumer: it receives exactly the frames of one clip, upright and scaled so the
longer side is at most ``max_side`` (the decoder's 4:2:0 planes shrunk directly, no colour conversion; the
decoder's own frame when the size stays), and writes them with PTS relative to the clip start (variable frame
rate survives) to ``<spool_dir>/<clip_id>.mp4`` (moov atom first, so it streams from a tar). ``end_clip``
returns that path; the task later packs it into its WebDataset shard.
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Any

import av

from toonset.analyze.base import ClipContext
from toonset.config import MediaConfig, check_max_side
from toonset.errors import UsageError
from toonset.io.frames import DecodedFrame, fit_size

MEDIA_MODES = ("encode", "reference")


def check_media_settings(cfg: MediaConfig) -> None:
    if cfg.mode not in MEDIA_MODES:
        raise UsageError(f"media.mode = {cfg.mode!r}; choose from {', '.join(MEDIA_MODES)}")
    check_max_side("media.max_side", cfg.max_side)
    if cfg.threads < 0:
        raise UsageError(f"media.threads = {cfg.threads}: 0 (the worker's CPU share) or more")


class ClipEncoder:
    name = "media.h264"
    version = "1.1"  # 1.1: 512 px ultrafast by default, planes shrunk directly
    needs_pixels = True

    def __init__(self, cfg: MediaConfig, fps: Fraction, time_base: Fraction, spool_dir: str,
                 threads: int = 1) -> None:
        self.cfg = cfg
        self.threads = max(1, cfg.threads or threads)
        self.spool_dir = spool_dir
        self.fps = fps
        # a fine, exact time base keeps source PTS spacing (VFR) without rounding drift
        self.time_base = time_base if time_base.denominator >= 1000 else Fraction(1, 90000)

    def start_clip(self, clip: ClipContext) -> None:
        self._clip = clip
        self._path = os.path.join(self.spool_dir, f"{clip.clip_id}.mp4")
        self._out: av.container.OutputContainer | None = None
        self._stream = None
        self._t0: float | None = None
        self._last_pts = -1
        self._frames = 0

    def _open(self, width: int, height: int) -> None:
        self._out = av.open(self._path, mode="w", format="mp4", options={"movflags": "+faststart"})
        stream = self._out.add_stream(self.cfg.codec, rate=self.fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.time_base = self.time_base
        stream.codec_context.time_base = self.time_base
        if self.cfg.codec.startswith("libx26"):
            stream.options = {"crf": str(self.cfg.crf), "preset": self.cfg.preset}
            stream.codec_context.thread_count = self.threads
        self._stream = stream

    def process(self, frame: DecodedFrame) -> None:
        w, h = frame.display_size()
        tw, th = fit_size(w, h, self.cfg.max_side)
        if self._out is None:
            self._size = (tw, th)
            self._open(tw, th)
            self._t0 = frame.time
        vf = frame.video_frame(self._size[0], self._size[1])
        pts = round((frame.time - (self._t0 or 0.0)) / self.time_base)
        pts = max(pts, self._last_pts + 1)
        self._last_pts = pts
        vf.pts = pts
        vf.time_base = self.time_base
        vf.pict_type = av.video.frame.PictureType.NONE  # a decoder frame's I/P/B type would force x264's choice
        for packet in self._stream.encode(vf):
            self._out.mux(packet)
        self._frames += 1

    def end_clip(self) -> dict[str, Any]:
        if self._out is None:
            return {}
        for packet in self._stream.encode(None):
            self._out.mux(packet)
        self._out.close()
        self._out = None
        return {"_media_path": self._path, "_media_frames": self._frames}
