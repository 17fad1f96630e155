"""Records of the toonset data model: plain dataclasses, no I/O."""

from toonset.model.records import Annotation, Clip, ErrorRecord, FilteredRecord, Keyframe, Source

__all__ = ["Annotation", "Clip", "ErrorRecord", "FilteredRecord", "Keyframe", "Source"]
