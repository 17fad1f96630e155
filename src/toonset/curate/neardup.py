"""Near-duplicate clips from keyframe hashes: LSH banding for candidates, then a per-pair verification.

Every clip is a bag of keyframe hashes ``(phash, fg_phash)`` (see ``toonset.analyze.fingerprint``).

1. **Candidates** — each 64-bit ``phash`` is cut into ``bands`` bands; two clips become a candidate pair
   when any of their keyframes share a band value. Two hashes within ``bands - 1`` bits always share a band
   (pigeonhole), and a duplicate has many keyframe pairs, so one close pair is enough to be proposed.
   Buckets larger than ``max_bucket`` (the same flat or generic picture everywhere) are skipped.
2. **Verification** — keyframe *i* of clip A matches keyframe *j* of clip B when their ``phash`` are
   within ``radius`` bits and their ``fg_phash`` within ``fg_radius`` bits (a zero ``fg_phash``, nothing
   moving, checks only ``phash``). The pair is a duplicate when at least ``min_share`` of the keyframes
   of *each* clip match (so a long clip that merely contains a short one is not called its copy unless
   ``containment`` is set, which scores only the clip with fewer keyframes) and at least
   ``min_matched`` keyframes match.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

import numpy as np

from toonset.analyze.fingerprint import hamming_matrix


@dataclass(frozen=True)
class NearDupParams:
    radius: int = 12  # phash bits that may differ for two keyframes to match
    fg_radius: int = 14  # fg_phash bits that may differ
    min_share: float = 0.7  # share of keyframes that must match, in each clip
    min_matched: int = 2  # and at least this many keyframes (1 for clips of a single drawing)
    bands: int = 4  # LSH bands over the 64-bit phash (16 bits each)
    max_bucket: int = 500  # LSH buckets with more clips than this are skipped as uninformative
    containment: bool = False  # score only the clip with fewer keyframes

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ClipHashes:
    """The keyframe hashes of one clip (uint64 arrays of equal length)."""

    clip_id: str
    phash: np.ndarray
    fg_phash: np.ndarray


@dataclass(frozen=True)
class PairScore:
    a: str
    b: str
    share_a: float  # share of a's keyframes with a match in b
    share_b: float
    matched: int  # keyframes of the smaller clip that match
    score: float  # the share the decision used


def candidate_pairs(clips: Sequence[ClipHashes], bands: int = 4, max_bucket: int = 500) -> set[tuple[int, int]]:
    """Index pairs (i < j) of clips sharing an LSH band value on any keyframe's non-zero phash."""
    if not 1 <= bands <= 64 or 64 % bands:
        raise ValueError("bands must divide 64")
    width = 64 // bands
    mask = np.uint64((1 << width) - 1)
    owners = np.concatenate([np.full(len(c.phash), i, np.int64) for i, c in enumerate(clips)] or [np.zeros(0, np.int64)])
    hashes = np.concatenate([np.asarray(c.phash, np.uint64) for c in clips] or [np.zeros(0, np.uint64)])
    keep = hashes != 0
    owners, hashes = owners[keep], hashes[keep]
    pairs: set[tuple[int, int]] = set()
    for band in range(bands):
        values = (hashes >> np.uint64(band * width)) & mask
        order = np.lexsort((owners, values))
        v, o = values[order], owners[order]
        starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]])
        ends = np.r_[starts[1:], len(v)]
        for s, e in zip(starts, ends):
            if e - s < 2:
                continue
            members = np.unique(o[s:e])
            if len(members) < 2 or len(members) > max_bucket:
                continue
            pairs.update(combinations(members.tolist(), 2))
    return pairs


def score_pair(a: ClipHashes, b: ClipHashes, params: NearDupParams) -> PairScore:
    """How many keyframes of each clip find a match in the other (see the module docstring)."""
    if len(a.phash) == 0 or len(b.phash) == 0:
        return PairScore(a.clip_id, b.clip_id, 0.0, 0.0, 0, 0.0)
    close = hamming_matrix(a.phash, b.phash) <= params.radius
    close &= (np.asarray(a.phash) != 0)[:, None] & (np.asarray(b.phash) != 0)[None, :]
    fa, fb = np.asarray(a.fg_phash, np.uint64), np.asarray(b.fg_phash, np.uint64)
    fg_ok = hamming_matrix(fa, fb) <= params.fg_radius
    fg_ok |= (fa == 0)[:, None] | (fb == 0)[None, :]
    match = close & fg_ok
    share_a = float(match.any(axis=1).mean())
    share_b = float(match.any(axis=0).mean())
    small_first = len(a.phash) <= len(b.phash)
    matched = int(match.any(axis=1).sum() if small_first else match.any(axis=0).sum())
    score = (share_a if small_first else share_b) if params.containment else min(share_a, share_b)
    return PairScore(a.clip_id, b.clip_id, share_a, share_b, matched, score)


def is_duplicate(s: PairScore, n_small: int, params: NearDupParams) -> bool:
    return s.score >= params.min_share and s.matched >= min(params.min_matched, n_small)


def find_near_duplicates(clips: Sequence[ClipHashes], params: NearDupParams | None = None) -> list[PairScore]:
    """Every verified near-duplicate pair among ``clips`` (scores for the pairs that passed)."""
    params = params or NearDupParams()
    found: list[PairScore] = []
    for i, j in sorted(candidate_pairs(clips, params.bands, params.max_bucket)):
        s = score_pair(clips[i], clips[j], params)
        if is_duplicate(s, min(len(clips[i].phash), len(clips[j].phash)), params):
            found.append(s)
    return found


def group_hashes(clip_ids: Sequence[str], phash: Sequence[int], fg_phash: Sequence[int]) -> list[ClipHashes]:
    """Keyframe rows (clip_id, phash, fg_phash) to one ``ClipHashes`` per clip, in first-seen order."""
    by_clip: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for cid, p, f in zip(clip_ids, phash, fg_phash):
        rows = by_clip[cid]
        rows[0].append(int(p))
        rows[1].append(int(f))
    return [ClipHashes(cid, np.asarray(p, np.uint64), np.asarray(f, np.uint64)) for cid, (p, f) in by_clip.items()]
