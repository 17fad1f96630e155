"""Write RGB frames to an h264 mp4 with PyAV, atomically (temp name in the same folder, then rename)."""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np


class Mp4Writer:
    """Encode frames with libx264 (yuv420p) at an exact frame rate; the file appears only on success.

    Use as a context manager; ``write`` one ``(height, width, 3)`` uint8 RGB array per frame. The encoder
    runs on a fixed number of ``threads`` (x264's output depends on it), so the same frames give the same
    file on any machine with the same PyAV build.
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: Fraction,
        *,
        crf: int = 23,
        preset: str = "veryfast",
        gop: int = 48,
        threads: int = 1,
    ) -> None:
        self.path = Path(path)
        self.temp = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self.width, self.height, self.fps = width, height, fps
        self.options = {"crf": str(crf), "preset": preset}
        self.gop = gop
        self.threads = threads
        self.frames = 0
        self._container: av.container.OutputContainer | None = None
        self._stream: av.VideoStream | None = None

    def __enter__(self) -> Mp4Writer:
        container = av.open(str(self.temp), "w", format="mp4")
        stream = container.add_stream("libx264", rate=self.fps)
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        stream.codec_context.gop_size = self.gop
        stream.codec_context.thread_count = self.threads
        stream.options = self.options
        self._container, self._stream = container, stream
        return self

    def write(self, rgb: np.ndarray) -> None:
        """Encode one frame."""
        assert self._container is not None and self._stream is not None, "use Mp4Writer as a context manager"
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = self.frames
        frame.time_base = 1 / self.fps
        self._container.mux(self._stream.encode(frame))
        self.frames += 1

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._container is not None and self._stream is not None
        try:
            try:
                if kind is None:
                    self._container.mux(self._stream.encode(None))
            finally:
                self._container.close()
            if kind is None:
                os.replace(self.temp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.temp.unlink()
