"""``SourceWork``: everything the pipeline learns about one source, carried from stage to stage."""

from __future__ import annotations

from dataclasses import dataclass, field

from toonset.ingest.local import SourceRef
from toonset.model.records import Clip, ErrorRecord, FilteredRecord, Keyframe, Source


@dataclass
class SourceWork:
    ref: SourceRef
    spool_dir: str = ""  # where the analyze stage leaves per-clip media until the task writes its shard
    source: Source | None = None
    clips: list[Clip] = field(default_factory=list)
    keyframes: list[Keyframe] = field(default_factory=list)
    media: dict[str, str] = field(default_factory=dict)  # clip_id -> spooled media file
    # clip_id -> {shard member "kf.<frame>.<ext>": (spool file, offset, size)} of its keyframe pictures
    pictures: dict[str, dict[str, tuple[str, int, int]]] = field(default_factory=dict)
    errors: list[ErrorRecord] = field(default_factory=list)
    filtered: list[FilteredRecord] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.source is None or self.source.status == "failed"
