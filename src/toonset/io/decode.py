"""The single decode pass: one reader per source yields ``DecodedFrame``s in decoded order.

Corrupt packets are skipped and counted (``decode_errors``) instead of ending the video; a video that
yields no frame at all raises a typed error. Times come from PTS; frames without a usable PTS get one
extrapolated from the previous frame and the probed rate.
"""

from __future__ import annotations

import hashlib
import os
from array import array
from collections.abc import Iterator
from fractions import Fraction

import av
import cv2
import numpy as np

from toonset.config import DecodeConfig
from toonset.errors import DecodeError, DimensionsError, NoFramesError, UnreadableError
from toonset.ingest.local import SourceRef, list_frame_files
from toonset.io.framerate import CFR, FrameRate, decide_frame_rate
from toonset.io.frames import (
    PLANAR_YUV,
    STILL_MAX_PIXELS,
    DecodedFrame,
    analysis_size,
    compat_thumb,
    diff_stats,
    frame_delta,
    frame_rotation,
    is_still,
    plane_array,
    upright,
    yuv_to_analysis,
)
from toonset.io.probe import ProbeInfo, check_readable, describe, open_container

MAX_CONSECUTIVE_DECODE_ERRORS = 500


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(chunk):
                h.update(block)
    except OSError as exc:
        raise UnreadableError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return h.hexdigest()


class FrameTracker:
    """The per-frame statistics both readers attach: ``still`` (against the last frame that was not still,
    so slow drifts add up) and ``delta`` (noise and mean change against the previous frame)."""

    def __init__(self) -> None:
        self.anchor: np.ndarray | None = None
        self.prev: np.ndarray | None = None

    def mark(self, frame: DecodedFrame) -> None:
        luma = frame.luma
        if self.prev is not None and self.prev is self.anchor and self.prev.shape == luma.shape:
            # the usual case (the previous frame moved): one difference image answers both questions
            noise, mad, hot = diff_stats(self.prev, luma)
            frame.delta = (noise, mad)
            frame.still = hot <= STILL_MAX_PIXELS
        else:
            frame.still = is_still(self.anchor, luma)
            frame.delta = frame_delta(self.prev, luma)
        self.prev = luma
        if not frame.still:
            self.anchor = frame.luma


class VideoReader:
    """Decode one video file once. Use as a context manager; iterate ``frames()``."""

    kind = "file"

    def __init__(self, ref: SourceRef, cfg: DecodeConfig, threads: int = 0, keep_pixels: bool = False,
                 compat: bool = False) -> None:
        self.path = ref.path
        self.cfg = cfg
        self.keep_pixels = keep_pixels
        self.compat = compat
        self.size_bytes = check_readable(self.path)
        self.container = open_container(self.path)
        try:
            self.info: ProbeInfo = describe(self.container, cfg.max_width, cfg.max_height)
            self.sha256 = sha256_file(self.path)  # after the cheap checks: a 50 GB non-video fails fast
        except Exception:
            self.container.close()
            raise
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        if threads > 0:
            self.stream.codec_context.thread_count = threads
        if cfg.fast_decode == "always":
            # opt-in only: skipping the in-loop deblocking filter makes decoding ~10-20% cheaper, but the
            # pictures drift from the real ones (36-38 dB at 640 px on DVD and film scans), so the analysis
            # would depend on it and clip media made from them would be worse; the default never skips it,
            # and the tables are the same whatever is stored (docs/config.md)
            self.stream.codec_context.options = {"skip_loop_filter": "all", "flags2": "+fast"}
        self.rotation = 0
        self.decode_errors = 0
        self.last_error = ""
        self.frame_count = 0
        self.first_time: float | None = None
        self._end_time = 0.0  # PTS time just after the last frame (see ``end_time``)
        self._last: tuple[float, int | None] | None = None  # (time, duration in time-base units) of it
        self._time_base: Fraction | None = None
        self.deltas = array("d")  # PTS steps, for the VFR test: 8 bytes a frame, not a list of floats

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.container.close()
        except Exception:  # closing a broken container must not mask the real error
            pass

    @property
    def fps(self) -> Fraction:
        return self.info.fps

    @property
    def end_time(self) -> float:
        """PTS time just after the last decoded frame: its time plus its duration (or one frame step)."""
        if self._last is not None:
            t, duration = self._last
            tb = self._time_base
            self._end_time = t + (float(duration * tb) if duration and tb else 1.0 / float(self.fps))
            self._last = None
        return self._end_time

    def _packets(self) -> Iterator[av.VideoFrame]:
        consecutive = 0
        demux = self.container.demux(self.stream)
        while True:
            try:
                packet = next(demux)
            except StopIteration:
                return
            except av.error.FFmpegError as exc:
                # a broken container structure ends demuxing; what was decoded so far is kept
                self.decode_errors += 1
                self.last_error = str(exc)
                return
            try:
                frames = packet.decode()
                consecutive = 0
            except av.error.FFmpegError as exc:
                self.decode_errors += 1
                self.last_error = str(exc)
                consecutive += 1
                if consecutive > MAX_CONSECUTIVE_DECODE_ERRORS:
                    return
                continue
            yield from frames

    def frames(self) -> Iterator[DecodedFrame]:
        step = 1.0 / float(self.fps)
        prev_time: float | None = None
        track = FrameTracker()
        aw = self.cfg.analysis_width
        for frame in self._packets():
            if self.frame_count == 0:
                self.rotation = frame_rotation(frame)
                self._time_base = frame.time_base
                if frame.width > self.cfg.max_width or frame.height > self.cfg.max_height:
                    raise DimensionsError(f"decoded frame {frame.width}x{frame.height} exceeds the limit")
            t = frame.time
            if t is None or (prev_time is not None and t <= prev_time - 1e-9):
                t = (prev_time + step) if prev_time is not None else 0.0
            if prev_time is not None:
                self.deltas.append(t - prev_time)
            prev_time = t
            if self.first_time is None:
                self.first_time = t
            fmt = frame.format.name
            src = frame if fmt in PLANAR_YUV or fmt in ("gray", "gray8") else frame.reformat(format="yuv420p")
            planes = src.planes
            y = plane_array(planes[0])
            u = plane_array(planes[1]) if len(planes) >= 3 else None
            v = plane_array(planes[2]) if len(planes) >= 3 else None
            luma, chroma, detail = yuv_to_analysis(y, u, v, self.rotation, aw)
            idx = self.frame_count
            self.frame_count += 1
            self._last = (t, frame.duration)  # end_time is worked out once, when asked (Fractions are slow)
            out = DecodedFrame(idx, t, luma, chroma, self.rotation, frame if self.keep_pixels else None)
            out.detail = detail
            track.mark(out)
            if self.compat and not out.still:  # a still frame's thumbnail would repeat the last one
                out.compat = upright(compat_thumb(y, fmt.startswith("yuvj")), self.rotation)
            yield out
        if self.frame_count == 0:
            if self.decode_errors:
                raise DecodeError(f"no frame could be decoded ({self.decode_errors} errors; last: {self.last_error})")
            raise NoFramesError("the video stream holds no decodable frame")

    @property
    def frame_rate(self) -> FrameRate:
        """After ``frames()``: the nominal rate when the PTS steps are constant (cfr), else their average (vfr)."""
        return decide_frame_rate(np.asarray(self.deltas, dtype=np.float64), self._time_base or self.info.time_base,
                                 self.info.fps_hints, fallback=self.info.fps)


class FrameFolderReader:
    """A folder of numbered images read as a video at a given frame rate."""

    kind = "frames"

    def __init__(self, ref: SourceRef, cfg: DecodeConfig, keep_pixels: bool = False, compat: bool = False) -> None:
        self.path = ref.path
        self.cfg = cfg
        self.keep_pixels = keep_pixels
        self.compat = compat
        self.files = list_frame_files(ref.path)
        if not self.files:
            raise NoFramesError(f"no numbered image frames in {ref.path}")
        h = hashlib.sha256()
        size = 0
        for f in self.files:
            try:
                with open(f, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                raise UnreadableError(f"cannot read frame {f}: {exc.strerror or exc}") from exc
            h.update(os.path.basename(f).encode() + b"\0" + data)
            size += len(data)
        self.sha256 = h.hexdigest()
        self.size_bytes = size
        fps = Fraction(ref.fps or cfg.frames_fps).limit_denominator(1001)
        first = cv2.imread(self.files[0], cv2.IMREAD_COLOR)
        if first is None:
            raise DecodeError(f"cannot decode image {self.files[0]}")
        height, width = first.shape[:2]
        if width > cfg.max_width or height > cfg.max_height:
            raise DimensionsError(f"frame size {width}x{height} exceeds the limit")
        self.info = ProbeInfo(
            container="image_sequence",
            codec=os.path.splitext(self.files[0])[1].lstrip(".").lower(),
            pix_fmt="bgr24",
            width=width,
            height=height,
            fps=fps,
            time_base=Fraction(1) / fps,
            start_time=0.0,
            declared_frames=len(self.files),
            declared_duration=len(self.files) / float(fps),
            has_audio=False,
        )
        self.rotation = 0
        self.decode_errors = 0
        self.last_error = ""
        self.frame_count = 0
        self.first_time: float | None = 0.0
        self.end_time = 0.0
        self.frame_rate = FrameRate(fps, CFR, fps)  # the rate it was given

    def __enter__(self) -> FrameFolderReader:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def close(self) -> None:
        pass

    @property
    def fps(self) -> Fraction:
        return self.info.fps

    def frames(self) -> Iterator[DecodedFrame]:
        step = 1.0 / float(self.fps)
        size = (self.info.width, self.info.height)
        track = FrameTracker()
        for path in self.files:
            bgr = cv2.imread(path, cv2.IMREAD_COLOR)
            if bgr is None:
                self.decode_errors += 1
                self.last_error = f"cannot decode image {os.path.basename(path)}"
                continue
            if (bgr.shape[1], bgr.shape[0]) != size:
                bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
            ycrcb = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)
            luma, chroma, detail = yuv_to_analysis(ycrcb[..., 0], ycrcb[..., 2], ycrcb[..., 1], 0,
                                                   self.cfg.analysis_width)
            idx = self.frame_count
            self.frame_count += 1
            t = idx * step
            self.end_time = t + step
            out = DecodedFrame(idx, t, luma, chroma, 0, None, bgr if self.keep_pixels else None)
            out.detail = detail
            track.mark(out)
            if self.compat and not out.still:
                out.compat = compat_thumb(ycrcb[..., 0], True)
            yield out
        if self.frame_count == 0:
            raise DecodeError(f"no image could be decoded ({self.last_error})")


def open_reader(ref: SourceRef, cfg: DecodeConfig, threads: int = 0, keep_pixels: bool = False,
                compat: bool = False) -> VideoReader | FrameFolderReader:
    """The reader for a source: a video file, or a folder of numbered frames."""
    if ref.kind == "frames":
        return FrameFolderReader(ref, cfg, keep_pixels=keep_pixels, compat=compat)
    return VideoReader(ref, cfg, threads=threads, keep_pixels=keep_pixels, compat=compat)


RUN_BYTES = 64 << 20  # what the frames of one run may hold: analysis images, and full pictures when kept


def frame_runs(reader: VideoReader | FrameFolderReader) -> Iterator[list[DecodedFrame]]:
    """The reader's frames in runs of up to ``decode.run_frames``: decode a run, then analyse it.

    Alternating decoder and analyzers frame by frame makes each evict the other's code and data from the
    CPU caches (the decoder's state and reference pictures take megabytes, the interpreter and analyzers
    their share). Runs take 10-20% off a whole build's CPU time (docs/benchmarks.md) and change no result:
    every analyzer still sees every frame, in order. A run holds at most ``RUN_BYTES`` of pictures (the
    analysis images, plus the full-resolution frames when clip media keeps them), so memory stays bounded
    at any resolution and analysis width."""
    info = reader.info
    aw, ah = analysis_size(info.width, info.height, reader.cfg.analysis_width)
    frame_bytes = 5 * aw * ah + 2 * 64 * 64  # luma, detail (4x), chroma, thumbnails
    if reader.keep_pixels:
        frame_bytes += info.width * info.height * 3  # BGR; YUV 4:2:0 is half that
    size = max(1, min(reader.cfg.run_frames, RUN_BYTES // frame_bytes))
    run: list[DecodedFrame] = []
    for frame in reader.frames():
        run.append(frame)
        if len(run) >= size:
            yield run
            run = []
    if run:
        yield run
