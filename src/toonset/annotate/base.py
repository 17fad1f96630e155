"""The annotator contract (neutral: the runner, every annotator and the tests import it from here).

An annotator is a stage over clips of a built dataset:

* ``name``, ``version`` (bump when outputs change), ``resources`` (CPU/GPU, memory: the Ray executor
  turns them into actor requests), ``batch_size`` (clips per ``annotate`` call);
* ``tables``: the tables it writes, each a ``TableSpec`` (Arrow schema of its own columns and the key that
  must be unique — collisions are refused, never overwritten). The framework adds the provenance columns
  (``PROVENANCE``) to every row;
* ``params``: its settings (constructor keyword arguments, from ``[annotate.<name>]`` in the config);
  recorded with every row, and part of the run's identity (other params → other run folder);
* ``setup()`` loads models once per worker (``model_files()`` then names the files whose sha256 goes in
  the provenance); ``annotate(batch)`` is pure: clips in (``ClipItem``), rows out (``Annotations``).

Missing weights raise ``MissingModelError`` naming the setting, from ``setup()``; the run stops with that
message before any clip is touched. An exception from ``annotate`` is caught per clip and recorded in the
coverage table; the run goes on.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import pyarrow as pa

from toonset.errors import UsageError
from toonset.pipeline.stage import Resources

T = TypeVar("T")

# added by the framework to every annotation row
PROVENANCE = pa.schema([
    ("annotator", pa.string()), ("annotator_version", pa.string()), ("model_sha256", pa.string()),
    ("params", pa.string()),
])

# the shared table of boxes (text lines now; faces, persons and keypoints later), one row per region
REGIONS = pa.schema([
    ("kind", pa.string()), ("clip_id", pa.string()), ("frame", pa.int64()), ("region", pa.int32()),
    ("x0", pa.float32()), ("y0", pa.float32()), ("x1", pa.float32()), ("y1", pa.float32()),
    ("score", pa.float32()), ("label", pa.string()), ("track_id", pa.int64()),
    ("keypoints", pa.list_(pa.float32())),
])
REGIONS_KEY = ("annotator", "kind", "clip_id", "frame", "region")


class MissingModelError(UsageError):
    """An annotator's model files are not where its settings say (the message names the setting)."""


class MissingPicturesError(RuntimeError):
    """A clip has no stored keyframe pictures and decoding was not allowed."""


@dataclass(frozen=True)
class TableSpec:
    schema: pa.Schema  # the annotator's columns (keys included); provenance columns are added
    key: tuple[str, ...]  # unique per row across every annotator writing the table (plus ``annotator``)


class Pictures(Mapping[int, np.ndarray]):
    """Keyframe pictures of one clip, decoded on first access (RGB uint8 H×W×3), by source frame index."""

    def __init__(self, frames: list[int], load: Callable[[int], np.ndarray]) -> None:
        self._frames = list(frames)
        self._load = load
        self._cache: dict[int, np.ndarray] = {}

    def __getitem__(self, frame: int) -> np.ndarray:
        if frame not in self._cache:
            if frame not in self._frames:
                raise KeyError(frame)
            self._cache[frame] = self._load(frame)
        return self._cache[frame]

    def __iter__(self) -> Iterator[int]:
        return iter(self._frames)

    def __len__(self) -> int:
        return len(self._frames)


@dataclass
class ClipItem:
    """One clip as annotators see it."""

    clip: dict[str, Any]  # the clips-table row
    source: dict[str, Any]  # the sources-table row (path, size, provenance JSON, artist, copyright …)
    keyframes: list[tuple[int, int]]  # (source frame index, hold in frames) of every new drawing, in order
    pictures: Mapping[int, np.ndarray]  # keyframe pictures by frame (lazy)
    # rows earlier annotators (``requires``) wrote for this clip: {annotator: {table: [row, ...]}}
    prior: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)

    @property
    def clip_id(self) -> str:
        return self.clip["clip_id"]

    @property
    def provenance(self) -> dict[str, Any]:
        raw = self.source.get("provenance") or "{}"
        return json.loads(raw) if isinstance(raw, str) else dict(raw)

    def picture_scale(self, frame: int) -> tuple[float, float]:
        """(sx, sy) that map picture pixels of ``frame`` to upright source pixels."""
        h, w = self.pictures[frame].shape[:2]
        return self.source["width"] / w, self.source["height"] / h


@dataclass
class Annotations:
    """What ``annotate`` returns: rows per table, and per clip how many keyframes were looked at."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    coverage: dict[str, int] = field(default_factory=dict)  # clip_id -> keyframes examined

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(row)


class Annotator(ABC):
    name: ClassVar[str] = "annotator"
    version: ClassVar[str] = "1"
    resources: ClassVar[Resources] = Resources()
    batch_size: ClassVar[int] = 8
    tables: ClassVar[dict[str, TableSpec]] = {}
    # annotators whose rows this one reads when they exist (``ClipItem.prior``): run first when in the same
    # run, their stored rows handed over when they ran before; never demanded
    requires: ClassVar[tuple[str, ...]] = ()
    needs_pictures: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        defaults = self.default_params()
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise UsageError(f"unknown setting(s) for annotator {self.name}: {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(defaults)) or 'none'}")
        self.params: dict[str, Any] = {**defaults, **params}

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        """Every setting with its default (the keys are the only accepted settings)."""
        return {}

    def check(self) -> None:
        """Cheap checks of the settings (model files exist …), run once in the driver before any worker
        starts, so a missing file stops the run with its message (``MissingModelError``), not a broken pool."""
        return None

    def setup(self) -> None:
        """Load models once per worker."""
        return None

    def model_files(self) -> list[Path]:
        """The model files in use (after ``setup``): their sha256 goes into every row's provenance."""
        return []

    @abstractmethod
    def annotate(self, batch: list[ClipItem]) -> Annotations:
        """Annotate a batch of clips (pure: no I/O besides reading the items)."""

    def teardown(self) -> None:
        """Release what ``setup`` acquired."""
        return None


def evenly_spaced(items: Sequence[T], k: int) -> list[T]:
    """At most ``k`` items spread evenly over ``items``, the first and the last included (the middle one
    when k = 1); all of them when k <= 0 or there are no more than k. Annotators sample keyframes with it."""
    items = list(items)
    n = len(items)
    if k <= 0 or n <= k:
        return items
    if k == 1:
        return [items[(n - 1) // 2]]
    return [items[i] for i in sorted({round(j * (n - 1) / (k - 1)) for j in range(k)})]


def params_json(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, ensure_ascii=False, default=str)


def run_identity(annotator: Annotator) -> str:
    """``<version>-<hash of params>``: the folder a run's parts and markers live in."""
    digest = hashlib.sha256(params_json(annotator.params).encode()).hexdigest()[:8]
    return f"{annotator.version}-{digest}"
