"""Open a media file and describe its video stream, with typed errors for every way that can fail."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from fractions import Fraction

import av

from toonset.errors import (
    DimensionsError,
    EmptyFileError,
    InputNotFoundError,
    NotAVideoError,
    NoVideoStreamError,
    UnreadableError,
    UnsupportedCodecError,
)

IMAGE_CODECS = frozenset({"png", "mjpeg", "bmp", "tiff", "webp", "jpeg2000", "jpegls", "ppm", "pgm", "pam"})


@dataclass
class ProbeInfo:
    container: str
    codec: str
    pix_fmt: str
    width: int  # coded size (before rotation)
    height: int
    fps: Fraction  # average frame rate as probed (falls back to the guessed rate)
    time_base: Fraction
    start_time: float
    declared_frames: int  # from the container (0 when unknown); the decode pass counts the real number
    declared_duration: float
    has_audio: bool
    interlaced_hint: bool = False

    def as_dict(self) -> dict:
        return {
            "container": self.container,
            "codec": self.codec,
            "pix_fmt": self.pix_fmt,
            "width": self.width,
            "height": self.height,
            "fps": float(self.fps),
            "fps_fraction": f"{self.fps.numerator}/{self.fps.denominator}",
            "time_base": f"{self.time_base.numerator}/{self.time_base.denominator}",
            "start_time": self.start_time,
            "declared_frames": self.declared_frames,
            "declared_duration": self.declared_duration,
            "has_audio": self.has_audio,
        }


def check_readable(path: str) -> int:
    """Raise a typed error unless ``path`` is a readable, non-empty regular file; return its size."""
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        if os.path.islink(path):
            raise UnreadableError(f"broken symlink: {path}") from exc
        raise InputNotFoundError(f"no such file: {path}") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnreadableError(f"symlink loop: {path}") from exc
        raise UnreadableError(f"cannot stat {path}: {exc.strerror}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise UnreadableError(f"is a directory, not a video file: {path}")
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block the worker forever; a device never ends
        raise UnreadableError(f"not a regular file ({_file_kind(st.st_mode)}): {path}")
    if st.st_size == 0:
        raise EmptyFileError(f"zero-byte file: {path}")
    if not os.access(path, os.R_OK):
        raise UnreadableError(f"permission denied: {path}")
    return st.st_size


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "named pipe"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "special file"


def open_container(path: str) -> av.container.InputContainer:
    try:
        return av.open(path, mode="r", metadata_errors="ignore")
    except PermissionError as exc:
        raise UnreadableError(f"permission denied: {path}") from exc
    except (av.error.InvalidDataError, av.error.EOFError) as exc:
        raise NotAVideoError(f"not a readable media file ({exc.strerror or exc})") from exc
    except av.error.FFmpegError as exc:
        raise NotAVideoError(f"cannot open media: {exc}") from exc
    except OSError as exc:
        raise UnreadableError(f"cannot open {path}: {exc.strerror or exc}") from exc


def _fraction(value, fallback: Fraction) -> Fraction:
    try:
        if value is None:
            return fallback
        frac = Fraction(value)
        return frac if frac > 0 else fallback
    except (TypeError, ValueError, ZeroDivisionError):
        return fallback


def describe(container: av.container.InputContainer, max_width: int, max_height: int) -> ProbeInfo:
    """Describe the first video stream of an open container (raises typed errors)."""
    videos = [s for s in container.streams.video]
    if not videos:
        kinds = sorted({s.type for s in container.streams})
        raise NoVideoStreamError(f"no video stream (streams: {', '.join(kinds) or 'none'})")
    stream = videos[0]
    ctx = stream.codec_context
    codec = ctx.name if ctx is not None else ""
    if ctx is None or not codec:
        raise UnsupportedCodecError("no decoder for the video stream's codec")
    if codec in IMAGE_CODECS and container.format.name.split(",")[0] in {"image2", "png_pipe", "jpeg_pipe"}:
        raise NotAVideoError(f"a still image ({codec}), not a video")
    width, height = int(ctx.width or 0), int(ctx.height or 0)
    if width <= 0 or height <= 0:
        raise DimensionsError(f"invalid frame size {width}x{height}")
    if width > max_width or height > max_height:
        raise DimensionsError(f"frame size {width}x{height} exceeds the limit {max_width}x{max_height}")
    time_base = _fraction(stream.time_base, Fraction(1, 1000))
    fps = _fraction(stream.average_rate, Fraction(0))
    if fps <= 0 or fps > 1000:
        fps = _fraction(stream.guessed_rate, Fraction(0))
    if fps <= 0 or fps > 1000:
        fps = _fraction(stream.base_rate, Fraction(24))
    declared_duration = 0.0
    if stream.duration is not None:
        declared_duration = float(stream.duration * time_base)
    elif container.duration is not None:
        declared_duration = container.duration / av.time_base
    start = float(stream.start_time * time_base) if stream.start_time is not None else 0.0
    return ProbeInfo(
        container=container.format.name,
        codec=codec,
        pix_fmt=ctx.pix_fmt or "",
        width=width,
        height=height,
        fps=fps.limit_denominator(1001 * 1000) if fps.denominator > 1_000_000 else fps,
        time_base=time_base,
        start_time=start,
        declared_frames=int(stream.frames or 0),
        declared_duration=declared_duration,
        has_audio=any(True for _ in container.streams.audio),
    )


def probe(path: str, max_width: int = 8192, max_height: int = 8192) -> ProbeInfo:
    check_readable(path)
    container = open_container(path)
    try:
        return describe(container, max_width, max_height)
    finally:
        container.close()
