"""Read a video's length and picture size from its container header, in pure Python.

The coordinating process orders tasks by their expected cost before any worker starts, and must never hand
an untrusted file to FFmpeg itself (a decoder crash there would end the whole run). So this module parses
only the few header fields it needs, with bounded reads and no decoding:

* **MP4 / MOV** (ISO base media): ``moov`` → each ``trak``'s ``hdlr`` (is it video?), ``tkhd`` (picture
  size), ``mdhd`` (duration) and ``stsz`` (sample count = frames). ``moov`` may sit after ``mdat``; boxes
  are skipped by seeking.
* **Matroska / WebM** (EBML): ``Segment`` → ``Info`` (``TimestampScale``, ``Duration``) and ``Tracks`` →
  the first video ``TrackEntry`` (``DefaultDuration`` for the frame rate, ``PixelWidth``/``PixelHeight``).
  Reading stops at the first ``Cluster``.

Anything else, or a header that does not parse, gives ``None``; the caller then estimates from the file
size. Nothing here raises on bad input.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

MAX_BOXES = 4096  # elements looked at per file, whatever the file claims
MAX_READ = 1 << 20  # bytes read into memory at once (a header element's payload)


@dataclass(frozen=True)
class HeaderInfo:
    """What a container header says about its (first) video track."""

    duration: float  # seconds (0 when the header does not say)
    width: int
    height: int
    frames: int = 0  # exact frame count when the header holds it (MP4 sample table), else 0
    fps: float = 0.0  # when the header states a fixed frame duration (Matroska ``DefaultDuration``)


def sniff_header(path: str) -> HeaderInfo | None:
    """The video track's duration, size and frame count from an MP4/MOV/Matroska/WebM header, or None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
                return _mp4(fh)
            if head[:4] == b"\x1a\x45\xdf\xa3":
                return _matroska(fh)
    except (OSError, ValueError, struct.error, OverflowError, MemoryError):
        return None
    return None


# --- MP4 / MOV ---------------------------------------------------------------------------------------


def _boxes(fh: BinaryIO, start: int, end: int, budget: list[int]):
    """(type, payload start, payload end) of the boxes in [start, end), seeking past their payloads."""
    pos = start
    while pos + 8 <= end and budget[0] > 0:
        budget[0] -= 1
        fh.seek(pos)
        hdr = fh.read(8)
        if len(hdr) < 8:
            return
        size, kind = struct.unpack(">I4s", hdr)
        body = pos + 8
        if size == 1:
            ext = fh.read(8)
            if len(ext) < 8:
                return
            size = struct.unpack(">Q", ext)[0]
            body = pos + 16
        elif size == 0:
            size = end - pos
        if size < body - pos or pos + size > end:
            return
        yield kind, body, pos + size
        pos += size


def _read(fh: BinaryIO, start: int, end: int, n: int) -> bytes:
    fh.seek(start)
    return fh.read(max(0, min(n, end - start, MAX_READ)))


def _mp4(fh: BinaryIO) -> HeaderInfo | None:
    fh.seek(0, 2)
    size = fh.tell()
    budget = [MAX_BOXES]
    for kind, body, end in _boxes(fh, 0, size, budget):
        if kind == b"moov":
            for tkind, tbody, tend in _boxes(fh, body, end, budget):
                if tkind == b"trak":
                    info = _mp4_track(fh, tbody, tend, budget)
                    if info is not None:
                        return info
            return None
    return None


def _mp4_track(fh: BinaryIO, start: int, end: int, budget: list[int]) -> HeaderInfo | None:
    width = height = frames = 0
    duration = 0.0
    video = False
    for kind, body, bend in _boxes(fh, start, end, budget):
        if kind == b"tkhd":
            b = _read(fh, body, bend, 96)
            off = 88 if b[:1] == b"\x01" else 76  # version 1 has 64-bit times and duration
            if len(b) >= off + 8:
                w, h = struct.unpack(">II", b[off : off + 8])
                width, height = w >> 16, h >> 16  # 16.16 fixed point
        elif kind == b"mdia":
            for mkind, mbody, mend in _boxes(fh, body, bend, budget):
                if mkind == b"hdlr":
                    video = _read(fh, mbody, mend, 12)[8:12] == b"vide"
                elif mkind == b"mdhd":
                    b = _read(fh, mbody, mend, 32)
                    if b[:1] == b"\x01" and len(b) >= 32:
                        scale, dur = struct.unpack(">IQ", b[20:32])
                    elif len(b) >= 20:
                        scale, dur = struct.unpack(">II", b[12:20])
                    else:
                        continue
                    duration = dur / scale if scale else 0.0
                elif mkind == b"minf":
                    frames = _mp4_sample_count(fh, mbody, mend, budget)
    if not video or width <= 0 or height <= 0:
        return None
    return HeaderInfo(duration, width, height, frames)


def _mp4_sample_count(fh: BinaryIO, start: int, end: int, budget: list[int]) -> int:
    for kind, body, bend in _boxes(fh, start, end, budget):
        if kind == b"stbl":
            for skind, sbody, send in _boxes(fh, body, bend, budget):
                if skind in (b"stsz", b"stz2"):
                    b = _read(fh, sbody, send, 12)
                    if len(b) == 12:
                        return struct.unpack(">I", b[8:12])[0]
    return 0


# --- Matroska / WebM ---------------------------------------------------------------------------------

_SEGMENT, _INFO, _TRACKS, _CLUSTER = 0x18538067, 0x1549A966, 0x1654AE6B, 0x1F43B675
_TIMESCALE, _DURATION = 0x2AD7B1, 0x4489
_TRACK_ENTRY, _TRACK_TYPE, _DEFAULT_DURATION, _VIDEO = 0xAE, 0x83, 0x23E383, 0xE0
_PIXEL_WIDTH, _PIXEL_HEIGHT = 0xB0, 0xBA


def _vint(fh: BinaryIO, keep_marker: bool) -> tuple[int, int] | None:
    """(value, bytes) of an EBML variable-length integer; size all-ones (unknown) gives -1."""
    first = fh.read(1)
    if not first:
        return None
    b0 = first[0]
    length = 1
    while length <= 8 and not b0 & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        return None
    rest = fh.read(length - 1)
    if len(rest) < length - 1:
        return None
    value = b0 if keep_marker else b0 & (0xFF >> length)
    for c in rest:
        value = (value << 8) | c
    if not keep_marker and value == (1 << (7 * length)) - 1:
        return -1, length
    return value, length


def _elements(fh: BinaryIO, start: int, end: int, budget: list[int]):
    """(id, payload start, payload end) of the EBML elements in [start, end); unknown sizes run to end."""
    pos = start
    while pos < end and budget[0] > 0:
        budget[0] -= 1
        fh.seek(pos)
        eid = _vint(fh, True)
        size = _vint(fh, False)
        if eid is None or size is None:
            return
        body = pos + eid[1] + size[1]
        stop = end if size[0] < 0 else body + size[0]
        if stop > end:
            stop = end  # a truncated file: what is there may still hold the header
        yield eid[0], body, stop
        if size[0] < 0:
            return
        pos = stop


def _uint(fh: BinaryIO, start: int, end: int) -> int:
    return int.from_bytes(_read(fh, start, end, 8), "big")


def _float(fh: BinaryIO, start: int, end: int) -> float:
    b = _read(fh, start, end, 8)
    return struct.unpack(">f", b)[0] if len(b) == 4 else struct.unpack(">d", b)[0] if len(b) == 8 else 0.0


def _matroska(fh: BinaryIO) -> HeaderInfo | None:
    fh.seek(0, 2)
    size = fh.tell()
    budget = [MAX_BOXES]
    scale, duration = 1_000_000, 0.0
    track: tuple[int, int, float] | None = None
    for eid, body, end in _elements(fh, 0, size, budget):
        if eid != _SEGMENT:
            continue
        for sid, sbody, send in _elements(fh, body, end, budget):
            if sid == _INFO:
                for iid, ibody, iend in _elements(fh, sbody, send, budget):
                    if iid == _TIMESCALE:
                        scale = _uint(fh, ibody, iend) or 1_000_000
                    elif iid == _DURATION:
                        duration = _float(fh, ibody, iend)
            elif sid == _TRACKS:
                track = _matroska_video_track(fh, sbody, send, budget)
            elif sid == _CLUSTER:
                break
            if track is not None and duration > 0:
                break
        break
    if track is None:
        return None
    width, height, fps = track
    seconds = duration * scale / 1e9 if duration > 0 and duration < 1e15 else 0.0
    return HeaderInfo(seconds, width, height, 0, fps)


def _matroska_video_track(fh: BinaryIO, start: int, end: int, budget: list[int]) -> tuple[int, int, float] | None:
    for tid, tbody, tend in _elements(fh, start, end, budget):
        if tid != _TRACK_ENTRY:
            continue
        kind, width, height, fps = 0, 0, 0, 0.0
        for eid, body, eend in _elements(fh, tbody, tend, budget):
            if eid == _TRACK_TYPE:
                kind = _uint(fh, body, eend)
            elif eid == _DEFAULT_DURATION:
                ns = _uint(fh, body, eend)
                fps = 1e9 / ns if ns else 0.0
            elif eid == _VIDEO:
                for vid, vbody, vend in _elements(fh, body, eend, budget):
                    if vid == _PIXEL_WIDTH:
                        width = _uint(fh, vbody, vend)
                    elif vid == _PIXEL_HEIGHT:
                        height = _uint(fh, vbody, vend)
        if kind == 1 and width > 0 and height > 0:
            return width, height, fps
    return None
