"""Read a clip's pixels back: from its encoded ``.mp4``, or frame-accurately from the source (reference
mode and ``--no-media`` builds), and its stored keyframe pictures. No torch needed.

Reference decoding seeks to the clip's first frame by its recorded PTS time, checks that the first frame
it keeps has exactly that time, and decodes forward; a stream whose times cannot be trusted (a frame
without PTS, a seek that lands past the start) is decoded from its first frame, counting frames the way
the build's reader did. Either way the frame count must come out exact, or ``ClipReadError`` says why.
"""

from __future__ import annotations

import io
import os

import av
import cv2
import numpy as np

from toonset.ingest.local import list_frame_files
from toonset.io.frames import fit_size, frame_rotation, upright


class ClipReadError(RuntimeError):
    """A clip's frames cannot be read back as they were analysed (source moved or changed, short stream)."""


def _rgb(frame: av.VideoFrame, max_side: int) -> np.ndarray:
    w, h = frame.width, frame.height
    if max_side and max(w, h) > max_side:
        w, h = fit_size(w, h, max_side)
        arr = frame.to_ndarray(width=w, height=h, format="rgb24", interpolation="AREA")
    else:
        arr = frame.to_ndarray(format="rgb24")
    return upright(arr, frame_rotation(frame))


def _stack(frames: list[np.ndarray]) -> np.ndarray:
    return np.stack(frames) if frames else np.zeros((0, 0, 0, 3), np.uint8)


def decode_media(data: bytes, keep: set[int] | None = None, max_frames: int = 0, max_side: int = 0) -> np.ndarray:
    """Frames (T×H×W×3 RGB) of an encoded clip; ``keep``: only these clip-relative indices."""
    frames: list[np.ndarray] = []
    with av.open(io.BytesIO(data)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if keep is None or i in keep:
                frames.append(_rgb(f, max_side))
            if max_frames and len(frames) >= max_frames:
                break
    return _stack(frames)


def _decode_range(path: str, start_frame: int, num_frames: int, start_time: float, keep: set[int] | None,
                  max_side: int, seek: bool) -> list[np.ndarray] | None:
    """Frames ``start_frame`` .. + ``num_frames`` of a video file; None when the seek cannot be trusted."""
    out: list[np.ndarray] = []
    with av.open(path) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or stream.base_rate or 24)
        tol = 0.25 / max(1.0, fps)
        index = 0  # clip-relative index of the next frame to keep
        if seek and start_frame > 0:
            c.seek(max(0, int(start_time / stream.time_base)), stream=stream, backward=True)
            started = False
            for f in c.decode(stream):
                t = f.time
                if t is None:
                    return None
                if not started:
                    if t < start_time - tol:
                        continue
                    if abs(t - start_time) > tol:
                        return None  # landed past the start (or a gap): count from the beginning instead
                    started = True
                if keep is None or index in keep:
                    out.append(_rgb(f, max_side))
                index += 1
                if index >= num_frames:
                    break
            return out if index == num_frames else None
        for i, f in enumerate(c.decode(stream)):
            if i < start_frame:
                continue
            if keep is None or index in keep:
                out.append(_rgb(f, max_side))
            index += 1
            if index >= num_frames:
                break
    if index != num_frames:
        raise ClipReadError(f"{path}: {index} of {num_frames} frames from frame {start_frame} could be decoded")
    return out


def decode_reference(path: str, kind: str, start_frame: int, num_frames: int, start_time: float,
                     keep: set[int] | None = None, max_side: int = 0, size_bytes: int | None = None) -> np.ndarray:
    """Frames of a clip stored by reference (T×H×W×3 RGB, upright; ``keep``: clip-relative indices)."""
    if kind == "frames":
        files = list_frame_files(path)
        if len(files) < start_frame + num_frames:
            raise ClipReadError(f"{path}: the frame folder holds {len(files)} frames, the clip needs "
                                f"{start_frame + num_frames}")
        first = cv2.imread(files[0], cv2.IMREAD_COLOR)
        if first is None:
            raise ClipReadError(f"cannot decode image {files[0]}")
        size = (first.shape[1], first.shape[0])  # the build's reader brought every frame to this size
        target = fit_size(*size, max_side) if max_side and max(size) > max_side else size
        frames = []
        for i, name in enumerate(files[start_frame : start_frame + num_frames]):
            if keep is not None and i not in keep:
                continue
            bgr = cv2.imread(name, cv2.IMREAD_COLOR)
            if bgr is None:
                raise ClipReadError(f"cannot decode image {name}")
            if (bgr.shape[1], bgr.shape[0]) != size:
                bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
            if target != size:
                bgr = cv2.resize(bgr, target, interpolation=cv2.INTER_AREA)
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        return _stack(frames)
    try:
        actual = os.path.getsize(path)
    except OSError as exc:
        raise ClipReadError(f"the source of this clip is gone: {path} ({exc.strerror or exc})") from exc
    if size_bytes is not None and size_bytes >= 0 and actual != size_bytes:
        raise ClipReadError(f"{path} changed since the build ({actual} bytes, was {size_bytes})")
    try:
        frames = _decode_range(path, start_frame, num_frames, start_time, keep, max_side, seek=True)
        if frames is None:
            frames = _decode_range(path, start_frame, num_frames, start_time, keep, max_side, seek=False)
    except av.error.FFmpegError as exc:
        raise ClipReadError(f"{path}: {exc}") from exc
    return _stack(frames or [])


def decode_picture(data: bytes) -> np.ndarray:
    """A stored keyframe picture as RGB (H×W×3 uint8)."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ClipReadError("a stored keyframe picture cannot be decoded")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
