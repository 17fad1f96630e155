"""WebDataset shards: a POSIX tar per task, written atomically. Per clip: ``<key>.json`` (its metadata),
``<key>.mp4`` (clip media, when encoded) and ``<key>.kf.<frame>.<ext>`` (keyframe pictures)."""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from toonset.store.atomic import atomic_open


def _add(tar: tarfile.TarFile, name: str, data: bytes | Path | tuple[str, int, int]) -> None:
    """Add bytes, a file streamed from disk (a long clip's media is never read into memory whole), or a
    byte range (path, offset, size) of a spool file."""
    info = tarfile.TarInfo(name)
    info.mtime = 0  # byte-identical shards for identical content
    info.mode = 0o644
    info.uname = info.gname = "toonset"
    if isinstance(data, tuple):
        path, offset, size = data
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read(size)
        if len(data) != size:
            raise OSError(f"{path}: spool file shorter than expected")
    if isinstance(data, Path):
        info.size = data.stat().st_size
        with open(data, "rb") as fh:
            tar.addfile(info, fh)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def write_shard(path: str | os.PathLike,
                samples: Iterable[tuple[str, dict[str, Any], dict[str, str | tuple[str, int, int]]]]) -> int:
    """Write (key, metadata, {extension: spooled file or (file, offset, size)}) samples to a tar shard;
    returns the sample count.
    Members of a sample are written in extension order after its ``.json``."""
    count = 0
    with atomic_open(path, "wb") as fh, tarfile.open(fileobj=fh, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for key, meta, files in samples:
            if "." in key or "/" in key:
                raise ValueError(f"invalid WebDataset key {key!r}")
            _add(tar, f"{key}.json", json.dumps(meta, sort_keys=True, ensure_ascii=False).encode("utf-8"))
            for ext in sorted(files):
                if "/" in ext or ext.startswith("."):
                    raise ValueError(f"invalid WebDataset member {key}.{ext}")
                where = files[ext]
                _add(tar, f"{key}.{ext}", where if isinstance(where, tuple) else Path(where))
            count += 1
    return count


def iter_shard(path: str | os.PathLike) -> Iterator[tuple[str, dict[str, bytes]]]:
    """Yield (key, {extension: bytes}) groups from a shard in file order."""
    current: str | None = None
    group: dict[str, bytes] = {}
    with tarfile.open(path, "r") as tar:
        for member in tar:
            if not member.isfile():
                continue
            key, _, ext = member.name.partition(".")
            if current is not None and key != current:
                yield current, group
                group = {}
            current = key
            fh = tar.extractfile(member)
            group[ext] = fh.read() if fh else b""
    if current is not None:
        yield current, group


def index_members(shards: Iterable[str | os.PathLike]) -> dict[str, dict[str, tuple[str, int, int]]]:
    """key -> {extension: (shard path, byte offset of the data, size)}, read once from the tar headers."""
    index: dict[str, dict[str, tuple[str, int, int]]] = {}
    for shard in shards:
        with tarfile.open(shard, "r") as tar:
            for member in tar:
                if member.isfile():
                    key, _, ext = member.name.partition(".")
                    index.setdefault(key, {})[ext] = (str(shard), member.offset_data, member.size)
    return index


def read_member(location: tuple[str, int, int]) -> bytes:
    """The bytes of one shard member located by ``index_members``."""
    path, offset, size = location
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read(size)


def write_samples(path: str | os.PathLike, samples: Iterable[tuple[str, dict[str, bytes]]]) -> int:
    """Write (key, {extension: bytes}) samples to a tar shard atomically; returns the sample count."""
    count = 0
    with atomic_open(path, "wb") as fh, tarfile.open(fileobj=fh, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for key, members in samples:
            if "." in key or "/" in key:
                raise ValueError(f"invalid WebDataset key {key!r}")
            for ext in sorted(members):
                _add(tar, f"{key}.{ext}", members[ext])
            count += 1
    return count
