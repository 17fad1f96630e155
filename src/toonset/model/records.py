"""The data model: Source → Clip → Keyframe, plus errors and provenance.

Frame indices are 0-based indices in decoded order; times are seconds computed from PTS.
These dataclasses hold values only; the Arrow schemas that store them live in ``toonset.store.schema``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Annotation:
    """Who made a derived value: every analyzer/annotator output carries one."""

    name: str
    version: str
    model: str = ""  # model id or weights hash; "" for classical methods
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Source:
    source_id: str
    path: str  # absolute path (or URL for remote sources)
    sha256: str
    size_bytes: int
    container: str
    codec: str
    width: int  # display width after rotation
    height: int
    rotation: int  # degrees applied to reach upright (0, 90, 180, 270)
    fps: float  # probed average frame rate
    fps_num: int  # exact fraction
    fps_den: int
    time_base: str  # e.g. "1/24000"
    frame_count: int  # decoded frames
    duration: float  # seconds, from PTS of decoded frames
    has_audio: bool
    status: str  # "ok", "ok_with_decode_errors", "failed"
    decode_errors: int = 0  # corrupt packets skipped
    vfr: bool = False
    input_kind: str = "file"  # "file" or "frames"
    series: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)
    # provenance as columns (filled from a ``.toonset.json`` sidecar; see toonset.ingest.provenance)
    booru_post_id: int | None = None
    artist: str = ""  # booru artist tags, space-separated
    copyright: str = ""  # booru copyright (series/franchise) tags, space-separated
    rating: str = ""  # booru rating as served: s / q / e
    source_url: str = ""  # where the uploader says the footage comes from (the booru's "source" field)
    media_url: str = ""  # the URL the file was downloaded from
    split: str | None = None  # train / val / test once ``toonset split`` has run

    def row(self) -> dict[str, Any]:
        return dict(self.__dict__)  # shallow: records hold scalars and plain dicts


@dataclass
class Clip:
    clip_id: str
    source_id: str
    index: int  # 0-based shot number within the source
    start_frame: int  # inclusive
    end_frame: int  # exclusive
    start_time: float
    end_time: float
    num_frames: int
    num_keyframes: int
    dynamic_score: float  # keyframes / frames (Sakuga-42M definition)
    hold_ones: float  # share of frames on drawings held 1 frame
    hold_twos: float
    hold_threes: float
    hold_longer: float
    timing: str  # ones / twos / threes / mixed / limited / still
    changed_area: float  # mean share of the picture that changes on a new drawing
    motion: float  # mean per-frame change magnitude in [0, 1]
    transition_in: str  # start / cut / fade / dissolve
    transition_out: str  # end / cut / fade / dissolve
    sakuga_keyframes: int = -1  # compatibility-mode count (64x64 luma SSIM < 0.95); -1 when off
    shard: str = ""  # shard file holding the clip media ("" with --no-media)
    content_hash: str = ""  # decoded-content hash (toonset.analyze.fingerprint); equal = exact duplicate
    duplicate_of: str | None = None  # clip_id of the original this clip repeats (set by ``toonset dedup``)
    split: str | None = None  # train / val / test once ``toonset split`` has run
    annotations: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return dict(self.__dict__)  # shallow: records hold scalars and plain dicts


@dataclass
class Keyframe:
    clip_id: str
    frame: int  # source frame index of the new drawing
    hold: int  # frames the drawing stays on screen (within the clip)
    time: float
    changed_area: float  # share of the picture that changed on this drawing (0 for a clip's first frame)
    phash: int = 0  # 64-bit DCT pHash of the drawing (unsigned); 0 when flat
    fg_phash: int = 0  # pHash of the drawing minus the clip's median picture; 0 when nothing moves

    def row(self) -> dict[str, Any]:
        return dict(self.__dict__)  # shallow: records hold scalars and plain dicts


@dataclass
class ErrorRecord:
    path: str
    source_id: str
    stage: str
    error_type: str
    message: str
    attempt: int = 1

    def row(self) -> dict[str, Any]:
        return dict(self.__dict__)  # shallow: records hold scalars and plain dicts


@dataclass
class FilteredRecord:
    """Something deliberately left out (an identical re-upload, a too-short shot): never silently."""

    path: str
    source_id: str
    clip_id: str
    stage: str
    reason: str

    def row(self) -> dict[str, Any]:
        return dict(self.__dict__)  # shallow: records hold scalars and plain dicts
