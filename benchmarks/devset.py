"""The shot-detection dev set: eye-verified labels under ``benchmarks/labels/`` and splice sequences.

    .venv/bin/python benchmarks/devset.py            # summary: clips, cuts, hard negatives, splices

Two parts, always reported apart:

* **in-source** — every labelled dev clip as it is, scored against its own eye-verified cuts (``shot_starts``)
  and gradual transitions. Hard negatives are the labelled in-shot events a detector may take for cuts.
* **splices** — the labelled single shots (whole single-shot clips, and the stretches between labelled cuts
  of the others, a few frames clear of each cut) joined end to end into sequences of one frame size and
  rate. Every join is a hard cut by construction between two eye-verified shots; the frames inside each
  piece carry their own hard negatives. GIF pieces (10 fps) and video pieces (24 fps) form separate
  sequences so no piece changes its frame rate.

Each clip belongs to a *source group* (one production: the Popeye film scan and its DVD are one group) for
leave-one-source-out scoring. Sequences are rebuilt only when missing (``benchmarks/results/devset-*``,
ignored by git); the footage stays in ``../shared``.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REALDATA, REPO

LABELS = REPO / "benchmarks" / "labels"
SPLICE_VERSION = 1
EDGE = 3  # frames kept clear of a labelled cut when a multi-shot clip is cut into pieces
MAX_PIECE = {"gif": 40, "video": 48}  # longest piece taken from one shot
MIN_PIECE = 3
PER_SEQUENCE = 12  # pieces per splice sequence
SIZE = (426, 240)


@dataclass
class DevClip:
    """One labelled clip (or splice sequence) with its truth as (first, end) boundary pairs."""

    name: str
    path: Path
    group: str  # source group for leave-one-source-out
    boundaries: list[tuple[int, int]]
    kind: str  # in-source | splice
    frames: int = 0
    fps: float | None = None  # for frame folders
    hard_negatives: list[dict] = field(default_factory=list)
    truth: dict = field(default_factory=dict)


def source_group(file: str) -> str:
    """The production a labelled file comes from: one group per film, series clip or GIF."""
    if file.startswith("popeye-1936-loc/"):
        return "popeye"
    if file.startswith("lvcd-test-clips/"):
        return "lvcd"
    stem = Path(file).stem
    if file.startswith("sakuga42m-demo/140633") or stem.startswith("doraemon"):
        return "doraemon"
    return stem.split("-Scene-")[0]


def load_labels() -> list[dict]:
    """Every shot label file (``*.json`` without ``.timing``), sorted by path."""
    out = []
    for p in sorted(LABELS.rglob("*.json")):
        if p.name.endswith(".timing.json"):
            continue
        data = json.loads(p.read_text())
        data["_label"] = str(p.relative_to(LABELS))
        out.append(data)
    return out


def truth_boundaries(label: dict) -> list[tuple[int, int]]:
    bounds = [(int(s), int(s)) for s in label.get("shot_starts", [])]
    bounds += [(int(g[0]), int(g[1])) for g in label.get("gradual", [])]
    return sorted(bounds)


def in_source_clips() -> list[DevClip]:
    clips = []
    for label in load_labels():
        path = REALDATA / label["file"]
        if not path.exists():
            continue
        clips.append(DevClip(
            label["file"], path, source_group(label["file"]), truth_boundaries(label), "in-source",
            int(label.get("frames", 0)), 24.0 if path.is_dir() else None, label.get("hard_negatives", []),
            label,
        ))
    return clips


def pieces(label: dict) -> Iterator[tuple[int, int]]:
    """Single-shot stretches [a, b) of a labelled clip, clear of its cuts and transitions."""
    n = int(label["frames"])
    start = 0
    for a, b in [*truth_boundaries(label), (n, n)]:
        lo, hi = start + (EDGE if start else 0), a - (EDGE if a < n else 0)
        if hi - lo >= MIN_PIECE:
            yield lo, hi
        start = b


def read_piece(path: Path, a: int, b: int) -> list[np.ndarray]:
    """Frames [a, b) of a clip, each fitted into ``SIZE``: only the piece is kept, never the whole clip."""
    from contact_sheet import read_frames

    return [_fit(f) for f in itertools.islice(read_frames(path), a, b)]


def _kind(label: dict) -> str:
    return "gif" if label["file"].endswith(".gif") else "video"


def splice_plan(seed: int = 7) -> dict[str, list[list[tuple[str, int, int]]]]:
    """Sequences per pool: lists of (label file, first, end) pieces, in a seeded order in which no two
    neighbours come from the same source group."""
    rng = np.random.default_rng(seed)
    pools: dict[str, list[tuple[str, int, int]]] = {"gif": [], "video": []}
    for label in load_labels():
        if not (REALDATA / label["file"]).exists():
            continue
        kind = _kind(label)
        if kind == "video" and label["file"].startswith("popeye-1936-loc/vob/"):
            continue  # 29.97 fps: no other dev source at that rate to join it to
        for a, b in pieces(label):
            while b - a >= MIN_PIECE:  # a long shot gives several pieces, never joined to each other
                pools[kind].append((label["file"], a, min(b, a + MAX_PIECE[kind])))
                a += MAX_PIECE[kind] + 2 * EDGE
    plan: dict[str, list[list[tuple[str, int, int]]]] = {}
    for kind, items in pools.items():
        order = [items[i] for i in rng.permutation(len(items))]
        seqs: list[list[tuple[str, int, int]]] = []
        current: list[tuple[str, int, int]] = []
        while order:
            last = source_group(current[-1][0]) if current else None
            pick = next((i for i, it in enumerate(order) if source_group(it[0]) != last), None)
            if pick is None:
                break
            current.append(order.pop(pick))
            if len(current) == PER_SEQUENCE:
                seqs.append(current)
                current = []
        if len(current) >= 2:
            seqs.append(current)
        plan[kind] = seqs
    return plan


def splice_clips(cache: Path) -> list[DevClip]:
    """The splice sequences as encoded videos (made once into ``cache``) with their join cuts."""
    import av

    plan = splice_plan()
    folder = cache / f"devset-splices-v{SPLICE_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for kind, seqs in plan.items():
        fps = 10 if kind == "gif" else 24
        for k, seq in enumerate(seqs):
            video = folder / f"{kind}-{k:02d}.mp4"
            meta = folder / f"{kind}-{k:02d}.json"
            if not (video.exists() and meta.exists()):
                frames, joins = [], []
                for file, a, b in seq:
                    if frames:
                        joins.append(len(frames))
                    frames += read_piece(REALDATA / file, a, b)
                tmp = video.with_suffix(".tmp.mp4")
                with av.open(str(tmp), "w") as out:
                    st = out.add_stream("libx264", rate=fps)
                    st.width, st.height, st.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
                    st.options = {"crf": "16", "preset": "veryfast"}
                    for f in frames:
                        for pkt in st.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                            out.mux(pkt)
                    for pkt in st.encode():
                        out.mux(pkt)
                tmp.replace(video)
                meta.write_text(json.dumps({"pieces": seq, "joins": joins, "frames": len(frames), "fps": fps}))
            info = json.loads(meta.read_text())
            groups = sorted({source_group(p[0]) for p in info["pieces"]})
            clips.append(DevClip(f"splice/{video.name}", video, "splice:" + ",".join(groups),
                                 [(j, j) for j in info["joins"]], "splice", info["frames"], None, [], info))
    return clips


def _fit(rgb: np.ndarray) -> np.ndarray:
    """A frame letterboxed into ``SIZE`` (aspect kept, black bars where needed)."""
    import cv2

    h, w = rgb.shape[:2]
    scale = min(SIZE[0] / w, SIZE[1] / h)
    nw, nh = max(2, round(w * scale)), max(2, round(h * scale))
    img = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    out = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    y, x = (SIZE[1] - nh) // 2, (SIZE[0] - nw) // 2
    out[y : y + nh, x : x + nw] = img
    return out


def splice_groups(clip: DevClip) -> set[str]:
    """The source groups whose pictures a splice sequence shows."""
    return {source_group(p[0]) for p in clip.truth.get("pieces", [])}


def main() -> None:
    clips = in_source_clips()
    cuts = sum(len(c.boundaries) for c in clips)
    negatives = sum(len(c.hard_negatives) for c in clips)
    single = sum(1 for c in clips if not c.boundaries)
    print(f"in-source: {len(clips)} clips, {len(set(c.group for c in clips))} source groups, {cuts} cuts, "
          f"{single} single-shot clips, {negatives} hard negatives")
    splices = splice_clips(REPO / "benchmarks" / "results")
    joins = sum(len(c.boundaries) for c in splices)
    print(f"splices: {len(splices)} sequences, {joins} join cuts, "
          f"{sum(c.frames for c in splices)} frames")


if __name__ == "__main__":
    main()
