"""Shot-boundary metrics: one-to-one matching of boundaries within a frame tolerance.

A boundary is an interval of frames ``(a, b)``: ``a == b`` for a hard cut at frame ``a`` (the first frame
of the new shot), ``a < b`` for a gradual transition whose frames ``a..b-1`` belong to no shot and whose
next shot starts at ``b``. Two boundaries match when their intervals are within ``tolerance`` frames of
each other, so a dissolve is credited whether an annotator marked its start, middle or end. Matching is
one-to-one (each truth boundary pairs with at most one prediction), closest first.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

Interval = tuple[int, int]


@dataclass
class PRF:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: PRF) -> PRF:
        return PRF(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def as_dict(self) -> dict[str, float]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


def gap(x: Interval, y: Interval) -> int:
    """Frames between two intervals (0 when they overlap or touch)."""
    return max(0, x[0] - y[1], y[0] - x[1])


def match(pred: Sequence[Interval], truth: Sequence[Interval], tolerance: int = 2) -> PRF:
    """One-to-one matching, closest pairs first, within ``tolerance`` frames: precision, recall, F1."""
    return match_detail(pred, truth, tolerance)[0]


def match_detail(pred: Sequence[Interval], truth: Sequence[Interval], tolerance: int = 2) -> tuple[PRF, list[int]]:
    """``match`` plus the indices of the predictions left unmatched (the false boundaries)."""
    pairs = sorted(
        (gap(p, t), i, j) for i, p in enumerate(pred) for j, t in enumerate(truth) if gap(p, t) <= tolerance
    )
    used_p: set[int] = set()
    used_t: set[int] = set()
    for _, i, j in pairs:
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
    tp = len(used_t)
    return PRF(tp, len(pred) - tp, len(truth) - tp), [i for i in range(len(pred)) if i not in used_p]


def intervals_from_shots(shots: Sequence[dict]) -> list[Interval]:
    """Boundaries from a ``toonset shots --json`` shot list (or any list of start/end frames)."""
    out: list[Interval] = []
    for prev, cur in itertools.pairwise(shots):
        out.append((int(prev["end_frame"]), int(cur["start_frame"])))
    return out


def intervals_from_starts(starts: Sequence[int]) -> list[Interval]:
    return [(int(s), int(s)) for s in starts]
