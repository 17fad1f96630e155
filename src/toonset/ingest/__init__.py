"""Where sources come from: local files, folders, globs, list files and frame folders."""

from toonset.ingest.local import SourceRef, expand_inputs

__all__ = ["SourceRef", "expand_inputs"]
