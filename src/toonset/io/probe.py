"""Open a media file and describe its video stream, with typed errors for every way that can fail."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from toonset.errors import (
    DimensionsError,
    EmptyFileError,
    InputNotFoundError,
    NotAVideoError,
    NoVideoStreamError,
    UnreadableError,
    UnsupportedCodecError,
)
from toonset.io.framerate import CFR, FrameRate, decide_frame_rate, nominal_rate

SCAN_PACKETS = 6000  # video packets ``probe`` reads to tell CFR from VFR (minutes of video; the build reads all)
IMAGE_CODECS = frozenset({"png", "mjpeg", "bmp", "tiff", "webp", "jpeg2000", "jpegls", "ppm", "pgm", "pam"})


@dataclass
class ProbeInfo:
    container: str
    codec: str
    pix_fmt: str
    width: int  # coded size (before rotation)
    height: int
    fps: Fraction  # nominal frame rate (cfr) or PTS average (vfr); before any PTS are read, from metadata
    time_base: Fraction
    start_time: float
    declared_frames: int  # from the container (0 when unknown); the decode pass counts the real number
    declared_duration: float
    has_audio: bool
    interlaced_hint: bool = False
    fps_hints: tuple[Fraction, ...] = ()  # the container's average, guessed and base rates, in that order
    fps_mode: str = CFR  # "cfr" or "vfr" once PTS were read (see toonset.io.framerate); cfr until then

    def as_dict(self) -> dict:
        return {
            "container": self.container,
            "codec": self.codec,
            "pix_fmt": self.pix_fmt,
            "width": self.width,
            "height": self.height,
            "fps": float(self.fps),
            "fps_fraction": f"{self.fps.numerator}/{self.fps.denominator}",
            "fps_mode": self.fps_mode,
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
    hints = tuple(_fraction(r, Fraction(0)) for r in (stream.average_rate, stream.guessed_rate, stream.base_rate))
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
        fps=nominal_rate(hints),
        time_base=time_base,
        start_time=start,
        declared_frames=int(stream.frames or 0),
        declared_duration=declared_duration,
        has_audio=any(True for _ in container.streams.audio),
        fps_hints=hints,
    )


def scan_frame_rate(container: av.container.InputContainer, info: ProbeInfo,
                    max_packets: int = SCAN_PACKETS) -> FrameRate:
    """CFR or VFR from the PTS of the first ``max_packets`` video packets (demuxed, not decoded)."""
    stream = container.streams.video[0]
    pts: list[int] = []
    try:
        for packet in container.demux(stream):
            t = packet.pts if packet.pts is not None else packet.dts
            if t is not None:
                pts.append(int(t))
                if len(pts) >= max_packets:
                    break
    except av.error.FFmpegError:  # a broken tail: decide on what was read
        pass
    ticks = np.unique(np.asarray(pts, dtype=np.int64))  # presentation order; a repeated PTS is one frame
    deltas = np.diff(ticks).astype(np.float64) * float(info.time_base)
    return decide_frame_rate(deltas, info.time_base, info.fps_hints, fallback=info.fps)


def probe(path: str, max_width: int = 8192, max_height: int = 8192, scan_packets: int = SCAN_PACKETS) -> ProbeInfo:
    """Describe a file's video stream; with ``scan_packets`` > 0 its rate is measured from that many packets'
    PTS: the nominal rate when they are constant (cfr), their average when not (vfr)."""
    check_readable(path)
    container = open_container(path)
    try:
        info = describe(container, max_width, max_height)
        if scan_packets > 0:
            rate = scan_frame_rate(container, info, scan_packets)
            info.fps, info.fps_mode = rate.fps, rate.mode
        return info
    finally:
        container.close()
