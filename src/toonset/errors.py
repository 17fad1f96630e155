"""Typed errors. Every failure on one input becomes an ``ErrorRecord`` row; these classes name the kind."""

from __future__ import annotations


class ToonsetError(Exception):
    """Base class for errors toonset reports about an input (not programming errors)."""

    kind = "error"


class InputNotFoundError(ToonsetError):
    kind = "not_found"


class EmptyFileError(ToonsetError):
    kind = "empty_file"


class NotAVideoError(ToonsetError):
    """The file could not be opened as a media container at all."""

    kind = "not_a_video"


class NoVideoStreamError(ToonsetError):
    """The container opened but has no video stream (for example audio-only)."""

    kind = "no_video_stream"


class UnsupportedCodecError(ToonsetError):
    kind = "unsupported_codec"


class DimensionsError(ToonsetError):
    """Declared frame size is missing, zero or beyond the configured limit."""

    kind = "bad_dimensions"


class DecodeError(ToonsetError):
    """Decoding failed (truncated file, corrupt stream) before any usable frame."""

    kind = "decode_error"


class NoFramesError(ToonsetError):
    kind = "no_frames"


class UnreadableError(ToonsetError):
    """Permission denied, a directory where a file was expected, a symlink loop, ..."""

    kind = "unreadable"


class TimeoutError_(ToonsetError):
    kind = "timeout"


class WorkerCrashError(ToonsetError):
    kind = "worker_crash"


class UsageError(Exception):
    """A bad command line or configuration: reported in one line, exit code 2."""
