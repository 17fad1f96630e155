"""Expand command-line inputs into an ordered, de-duplicated list of ``SourceRef``.

An input is a video file, a folder (scanned recursively), a glob pattern, a text file listing paths
(one per line, ``#`` comments, paths relative to the list) or a folder of numbered image frames.
A media file with a provenance sidecar next to it (``<file>.toonset.json``, written by ``toonset fetch``)
carries that record as its ``provenance``.
Anything that looks like a source but cannot be read still becomes a ``SourceRef``: the pipeline turns it
into an error row instead of dropping it silently.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toonset.errors import UsageError
from toonset.ingest.provenance import read_sidecar

VIDEO_EXTENSIONS = frozenset(
    [".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".flv", ".wmv", ".mpg", ".mpeg", ".ts", ".m2ts", ".mts", ".ogv", ".3gp", ".gif", ".vob", ".mxf"]
)
IMAGE_EXTENSIONS = frozenset([".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"])
LIST_EXTENSIONS = frozenset([".txt", ".list", ".lst"])
_NUMBER = re.compile(r"(\d+)")


@dataclass(frozen=True)
class SourceRef:
    """One source to process: a media file or a folder of frames."""

    path: str  # absolute, not resolved through symlinks (so a symlink loop is reported, not followed)
    kind: str = "file"  # "file" | "frames"
    fps: float | None = None  # for frame folders
    provenance: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> str:
        return self.path


def frame_sort_key(name: str) -> tuple:
    """Natural sort: ``frame2.png`` before ``frame10.png``."""
    return tuple(int(p) if p.isdigit() else p for p in _NUMBER.split(name))


def list_frame_files(folder: str) -> list[str]:
    """Image files of a frame folder in natural order (empty when it is not a frame folder)."""
    try:
        names = [e.name for e in os.scandir(folder) if e.is_file()]
    except OSError:
        return []
    images = [n for n in names if Path(n).suffix.lower() in IMAGE_EXTENSIONS]
    if not images or len(images) < len(names) * 0.9 or not all(_NUMBER.search(n) for n in images):
        return []
    return [os.path.join(folder, n) for n in sorted(images, key=frame_sort_key)]


def is_frame_folder(folder: str) -> bool:
    return len(list_frame_files(folder)) >= 2


def _scan_folder(folder: str, fps: float | None) -> list[SourceRef]:
    out: list[SourceRef] = []
    if is_frame_folder(folder):
        return [SourceRef(folder, "frames", fps)]
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        keep_dirs = []
        for d in dirs:
            full = os.path.join(root, d)
            if os.path.islink(full):
                continue  # never follow directory symlinks (loops); a link named like a video is in files
            if is_frame_folder(full):
                out.append(SourceRef(full, "frames", fps))
            elif Path(d).suffix.lower() in VIDEO_EXTENSIONS:
                out.append(SourceRef(full, "file"))  # a directory named like a video: reported as an error
            else:
                keep_dirs.append(d)
        dirs[:] = keep_dirs
        for name in sorted(files):
            if Path(name).suffix.lower() in VIDEO_EXTENSIONS:
                out.append(SourceRef(os.path.join(root, name), "file"))
        # symlinks that point nowhere (or to themselves) show up neither as files nor dirs in some cases
        for name in sorted(set(os.listdir(root)) - set(files) - set(dirs) - set(keep_dirs)):
            full = os.path.join(root, name)
            if os.path.islink(full) and Path(name).suffix.lower() in VIDEO_EXTENSIONS:
                out.append(SourceRef(full, "file"))
    return out


def _read_list(list_path: str, fps: float | None) -> list[SourceRef]:
    base = os.path.dirname(list_path)
    out: list[SourceRef] = []
    with open(list_path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            entry = line.strip()
            if not entry or entry.startswith("#"):
                continue
            full = os.path.abspath(os.path.join(base, os.path.expanduser(entry)))
            if os.path.isdir(full) and not os.path.islink(full):
                out.extend(_scan_folder(full, fps))
            else:
                out.append(SourceRef(full, "file"))  # missing entries become error rows
    return out


def expand_inputs(inputs: list[str], fps: float | None = None) -> list[SourceRef]:
    """Turn CLI inputs into sources, in a stable order. Raises UsageError when an argument matches nothing."""
    refs: list[SourceRef] = []
    for raw in inputs:
        path = os.path.abspath(os.path.expanduser(raw))
        if os.path.isdir(path) and not os.path.islink(path):
            refs.extend(_scan_folder(path, fps))
        elif os.path.lexists(path):
            if Path(path).suffix.lower() in LIST_EXTENSIONS and os.path.isfile(path):
                refs.extend(_read_list(path, fps))
            else:
                refs.append(SourceRef(path, "file"))
        elif glob.has_magic(raw):
            matches = sorted(glob.glob(os.path.expanduser(raw), recursive=True))
            if not matches:
                raise UsageError(f"no files match {raw!r}")
            for m in matches:
                m = os.path.abspath(m)
                if os.path.isdir(m) and not os.path.islink(m):
                    refs.extend(_scan_folder(m, fps))
                else:
                    refs.append(SourceRef(m, "file"))
        else:
            raise UsageError(f"input not found: {raw}")
    seen: set[str] = set()
    unique: list[SourceRef] = []
    for ref in refs:
        if ref.path not in seen:
            seen.add(ref.path)
            unique.append(with_provenance(ref))
    return unique


def with_provenance(ref: SourceRef) -> SourceRef:
    """``ref`` with the record of its provenance sidecar, when a media file has one."""
    if ref.kind != "file" or ref.provenance:
        return ref
    prov = read_sidecar(ref.path)
    return SourceRef(ref.path, ref.kind, ref.fps, prov) if prov else ref
