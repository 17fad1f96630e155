"""Contact sheets for labelling by eye: numbered frame thumbnails in a grid, one PNG per page.

    .venv/bin/python benchmarks/contact_sheet.py VIDEO_OR_FRAME_FOLDER -o /tmp/sheets [--start 0] [--end N]
        [--step 1] [--cols 8] [--rows 6] [--width 240] [--diff]

Every frame is decoded in order (0-based decoded-frame indices, the numbering of all labels under
``benchmarks/labels/``) and drawn with its index. ``--diff`` puts under each thumbnail the absolute
luma difference to the previous decoded frame, amplified x4: a visual aid for telling a held drawing
(grey grain only) from a new one (line shapes) — it decides nothing, the labeller does. Sheets are
written outside the repository: pictures of the real footage never enter it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

IMAGE_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


def read_frames(path: Path) -> Iterator[np.ndarray]:
    """RGB frames of a video, GIF or numbered image folder, in decoded order."""
    if path.is_dir():
        files = [p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXT]
        files.sort(key=lambda p: (int(p.stem) if p.stem.isdigit() else 10**9, p.name))
        for p in files:
            img = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if img is not None:
                yield cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        return
    import av

    with av.open(str(path)) as c:
        for f in c.decode(c.streams.video[0]):
            yield f.to_ndarray(format="rgb24")


def thumb(img: np.ndarray, width: int) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.resize(img, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)


def label(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.rectangle(out, (0, 0), (8 + 9 * len(text), 16), (0, 0, 0), -1)
    cv2.putText(out, text, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1, cv2.LINE_AA)
    return out


def sheets(frames: Iterator[np.ndarray], start: int, end: int | None, step: int, cols: int, rows: int,
           width: int, diff: bool) -> Iterator[tuple[int, int, np.ndarray]]:
    """(first frame, last frame, sheet image) for each page."""
    cells: list[np.ndarray] = []
    idx: list[int] = []
    prev: np.ndarray | None = None
    for i, rgb in enumerate(frames):
        if end is not None and i >= end:
            break
        t = thumb(rgb, width)
        gray = cv2.cvtColor(t, cv2.COLOR_RGB2GRAY)
        if i >= start and (i - start) % step == 0:
            cell = label(t, str(i))
            if diff:
                d = np.zeros_like(gray) if prev is None else cv2.absdiff(gray, prev)
                d = cv2.cvtColor(np.clip(d.astype(np.int32) * 4, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2RGB)
                cell = np.vstack([cell, label(d, f"|d| x4 {i}")])
            cells.append(cell)
            idx.append(i)
            if len(cells) == cols * rows:
                yield idx[0], idx[-1], grid(cells, cols)
                cells, idx = [], []
        prev = gray
    if cells:
        yield idx[0], idx[-1], grid(cells, cols)


def grid(cells: list[np.ndarray], cols: int) -> np.ndarray:
    h = max(c.shape[0] for c in cells)
    w = max(c.shape[1] for c in cells)
    pad = 3
    rows = (len(cells) + cols - 1) // cols
    out = np.full((rows * (h + pad), cols * (w + pad), 3), 40, np.uint8)
    for k, c in enumerate(cells):
        r, q = divmod(k, cols)
        out[r * (h + pad) : r * (h + pad) + c.shape[0], q * (w + pad) : q * (w + pad) + c.shape[1]] = c
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path)
    ap.add_argument("-o", "--out", type=Path, required=True)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--end", type=int, default=None)
    ap.add_argument("--step", type=int, default=1)
    ap.add_argument("--cols", type=int, default=8)
    ap.add_argument("--rows", type=int, default=6)
    ap.add_argument("--width", type=int, default=240)
    ap.add_argument("--diff", action="store_true", help="add the amplified difference to the previous frame")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    stem = a.source.stem if a.source.is_file() else a.source.name
    for first, last, img in sheets(read_frames(a.source), a.start, a.end, max(1, a.step), a.cols, a.rows,
                                   a.width, a.diff):
        name = a.out / f"{stem}_{first:05d}-{last:05d}.png"
        cv2.imwrite(str(name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
