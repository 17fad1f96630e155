"""The ``ocr`` annotator: burned-in text (subtitles, captions, signs) of every keyframe picture.

PP-OCR detection and recognition run through rapidocr on onnxruntime, with the weights that ship inside
the ``rapidocr`` wheel (PP-OCRv6 small: CJK and Latin) or ONNX files of your own (``model_dir``). Every
model path is given explicitly, so rapidocr never reaches its download code.

Speed comes from doing less, not from a smaller model:

* only keyframes are read (a hold shows the same drawing, so its text is the keyframe's);
* a **text-change test** keeps what OCR has seen of the clip (the grey picture as last examined, its
  lines, the boxes it dropped) and marks the 16×16 tiles of the next keyframe whose pixels moved by 40
  grey levels or more; only tiles in the watched regions count (a top and a bottom band, and, with a
  finer threshold, the boxes of known lines). None: the lines are copied (``reused = true``), no model runs;
* otherwise detection (on a downscaled picture, ``det_side``) runs only on the row spans with changed
  tiles, and recognition only on boxes that are new or changed and elongated enough to hold a line; a
  box that matches a known line with unchanged pixels keeps its text (also ``reused``);
* ``refresh_every`` bounds how long copies can go on (text appearing mid-picture with no change in the
  bands is seen at the next full look at the latest).

Boxes are written in upright source pixels (``ClipItem.picture_scale``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from toonset.annotate.base import REGIONS, Annotations, Annotator, ClipItem, MissingModelError, TableSpec
from toonset.pipeline.stage import MissingExtraError, Resources

OCR = pa.schema([
    ("clip_id", pa.string()), ("frame", pa.int64()), ("line", pa.int32()), ("text", pa.string()),
    ("score", pa.float32()), ("x0", pa.float32()), ("y0", pa.float32()), ("x1", pa.float32()),
    ("y1", pa.float32()), ("reused", pa.bool_()),
])
OCR_CLIPS = pa.schema([
    ("clip_id", pa.string()), ("keyframes_seen", pa.int64()), ("keyframes_with_text", pa.int64()),
    ("text_coverage", pa.float64()), ("text_area", pa.float64()), ("has_subtitles", pa.bool_()),
    ("text_score", pa.float64()), ("text", pa.string()),
])
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in picture pixels

# the subtitle rule (see docs/annotators/ocr.md): a line low in the picture, roughly centred, not huge
SUBTITLE_TOP = 0.6  # the line's centre lies below this share of the picture height
SUBTITLE_CENTRE = 0.2  # |centre x - middle| at most this share of the picture width
SUBTITLE_MAX_HEIGHT = 0.2  # a line taller than this share of the picture height is a title, not a subtitle


@dataclass(frozen=True)
class Line:
    """One recognised text line of a picture (picture pixels)."""

    text: str
    score: float
    box: Box
    polygon: np.ndarray  # 4×2 float32, what recognition crops
    reused: bool = False


@dataclass(frozen=True)
class Seen:
    """What OCR has seen of a clip so far: the grey picture as last examined (re-examined row spans are
    pasted in), its kept lines, and the boxes it detected but dropped (not recognised again unchanged)."""

    ref: np.ndarray
    lines: list[Line]
    rejects: list[Line]
    since: int  # keyframes since the last full look


def order_lines(lines: list[Line]) -> list[Line]:
    """Reading order: top to bottom (8 px rows), then left to right."""
    return sorted(lines, key=lambda ln: (round(ln.box[1] / 8), ln.box[0]))


# --------------------------------------------------------------------------------------------- maths
TILE = 16  # change-test tile side (picture pixels)
LEVEL = 40  # grey levels a pixel must move by to count as changed


def changed_tiles(ref: np.ndarray, cur: np.ndarray, threshold: float, level: int = LEVEL,
                  tile: int = TILE) -> np.ndarray:
    """Per ``tile``×``tile`` tile (a boolean grid), whether more than ``threshold`` of its grey pixels
    moved by ``level`` or more between ``ref`` and ``cur``.

    Glyphs are high-contrast, so new, changed or vanished text moves many pixels of its tiles by far more
    than ``level``; re-encoding noise and grain stay below it. Tiles, rather than whole regions, keep one
    changed word visible inside a wide band of unchanged background."""
    moved = (np.abs(ref.astype(np.int16) - cur.astype(np.int16)) >= level).astype(np.float32)
    h, w = moved.shape
    moved = np.pad(moved, ((0, -h % tile), (0, -w % tile)))
    share = moved.reshape(moved.shape[0] // tile, tile, moved.shape[1] // tile, tile).mean(axis=(1, 3))
    return share > threshold


def changed_share(ref: np.ndarray, cur: np.ndarray, level: int = LEVEL, tile: int = TILE) -> float:
    """The largest tile share of moved pixels between two grey pictures (1.0 when their sizes differ)."""
    if ref.shape != cur.shape:
        return 1.0
    if ref.size == 0:
        return 0.0
    moved = (np.abs(ref.astype(np.int16) - cur.astype(np.int16)) >= level).astype(np.float32)
    h, w = moved.shape
    moved = np.pad(moved, ((0, -h % tile), (0, -w % tile)))
    return float(moved.reshape(moved.shape[0] // tile, tile, moved.shape[1] // tile, tile).mean(axis=(1, 3)).max())


def tiles_of(box: Box, tile: int = TILE) -> tuple[slice, slice]:
    """The tile-grid slices (rows, columns) a picture-pixel box touches."""
    return (slice(max(0, int(box[1] // tile)), int(np.ceil(box[3] / tile))),
            slice(max(0, int(box[0] // tile)), int(np.ceil(box[2] / tile))))


def band_rows(bands: list[tuple[float, float]], height: int, tile: int = TILE) -> np.ndarray:
    """Tile rows inside the watched bands, given as (top, bottom) shares of the picture height."""
    rows = np.zeros(-(-height // tile), bool)
    for top, bottom in bands:
        rows[int(height * top) // tile : int(np.ceil(height * bottom / tile))] = True
    return rows


def spans_to_examine(hot_rows: np.ndarray, boxes: list[Box], height: int, pad: int = TILE,
                     tile: int = TILE) -> list[tuple[int, int]]:
    """Row spans [y0, y1) of the picture that detection must look at again: the hot tile rows, grown by
    ``pad`` and then by every known box they touch (so a line is never cut in half), merged."""
    spans: list[list[int]] = []
    for ty in np.flatnonzero(hot_rows):
        y0, y1 = max(0, int(ty) * tile - pad), min(height, (int(ty) + 1) * tile + pad)
        if spans and y0 <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], y1)
        else:
            spans.append([y0, y1])
    grown = True
    while grown:
        grown = False
        for span in spans:
            for box in boxes:
                if box[1] < span[1] and box[3] > span[0] and (box[1] < span[0] or box[3] > span[1]):
                    span[0], span[1] = max(0, min(span[0], int(box[1]) - 2)), min(height, max(span[1], int(np.ceil(box[3])) + 2))
                    grown = True
        merged: list[list[int]] = []
        for span in sorted(spans):
            if merged and span[0] <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], span[1])
            else:
                merged.append(list(span))
        spans = merged
    return [(a, b) for a, b in spans]


def in_spans(box: Box, spans: list[tuple[int, int]]) -> bool:
    """Whether a box overlaps any row span."""
    return any(box[1] < y1 and box[3] > y0 for y0, y1 in spans)


def pad_box(box: Box, pad: float, width: int, height: int) -> tuple[int, int, int, int]:
    """``box`` grown by ``pad`` pixels and clipped to the picture, as integer slice bounds."""
    x0, y0, x1, y1 = box
    return (max(0, int(np.floor(x0 - pad))), max(0, int(np.floor(y0 - pad))),
            min(width, int(np.ceil(x1 + pad))), min(height, int(np.ceil(y1 + pad))))


def box_iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def covered_share(boxes: list[Box], width: int, height: int) -> float:
    """Share of the picture covered by the union of ``boxes`` (overlaps counted once)."""
    if not boxes or width <= 0 or height <= 0:
        return 0.0
    mask = np.zeros((height, width), bool)
    for box in boxes:
        x0, y0, x1, y1 = pad_box(box, 0, width, height)
        mask[y0:y1, x0:x1] = True
    return float(mask.mean())


def is_subtitle_line(box: Box, width: int, height: int) -> bool:
    """A line placed like a subtitle: centre in the lower 40% of the picture, within ±20% of the width
    of the middle, and at most 20% of the picture tall."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return (cy >= SUBTITLE_TOP * height and abs(cx - width / 2) <= SUBTITLE_CENTRE * width
            and (box[3] - box[1]) <= SUBTITLE_MAX_HEIGHT * height)


def summarize_clip(frames: list[tuple[int, list[Line], tuple[int, int]]], min_subtitle_frames: int
                   ) -> dict[str, Any]:
    """Clip-level text measures from per-keyframe lines. ``frames``: (hold, lines, (width, height)).

    Every keyframe counts with its hold (the frames it stays on screen), so the shares are shares of the
    clip's frames. ``text_score`` = Σ hold·(best line score) / Σ hold: a text probability in [0, 1] that is
    0 exactly when no text was found and approaches ``text_coverage`` as recognition gets confident.
    ``has_subtitles``: subtitle-placed lines (``is_subtitle_line``) on keyframes covering at least
    ``min_subtitle_frames`` frames (a subtitle persists; a one-frame sign does not count)."""
    total = sum(hold for hold, _, _ in frames)
    if total <= 0:
        return {"keyframes_seen": len(frames), "keyframes_with_text": 0, "text_coverage": 0.0,
                "text_area": 0.0, "has_subtitles": False, "text_score": 0.0, "text": ""}
    with_text = [(hold, lines, size) for hold, lines, size in frames if lines]
    seen: dict[str, None] = {}
    for _, lines, _ in with_text:
        for line in lines:
            seen.setdefault(line.text, None)
    subtitle_frames = sum(hold for hold, lines, (w, h) in with_text
                          if any(is_subtitle_line(line.box, w, h) for line in lines))
    return {
        "keyframes_seen": len(frames),
        "keyframes_with_text": len(with_text),
        "text_coverage": sum(hold for hold, _, _ in with_text) / total,
        "text_area": sum(hold * covered_share([ln.box for ln in lines], w, h)
                         for hold, lines, (w, h) in with_text) / total,
        "has_subtitles": subtitle_frames >= min(min_subtitle_frames, total),
        "text_score": sum(hold * max(ln.score for ln in lines) for hold, lines, _ in with_text) / total,
        "text": " | ".join(seen),
    }


def line_shaped(box: Box, min_aspect: float) -> bool:
    """Whether a detected box is elongated enough to hold a line of two or more glyphs (horizontal or
    vertical). Squarish boxes are blobs of line art (heads, eyes, squares) far more often than text, and
    recognising them is most of the cost on busy drawings."""
    w, h = box[2] - box[0], box[3] - box[1]
    return min(w, h) > 0 and max(w, h) / min(w, h) >= min_aspect


def keep_line(text: str, score: float, params: dict[str, Any]) -> bool:
    """A recognised line counts when it is confident and at least ``min_chars`` non-space characters long."""
    return score >= float(params["min_score"]) and len("".join(text.split())) >= int(params["min_chars"])


# --------------------------------------------------------------------------------------------- models
def wheel_models() -> dict[str, Path]:
    """The PP-OCR ONNX files inside the installed rapidocr wheel (det, rec, cls)."""
    try:
        import rapidocr
    except ImportError as exc:
        raise MissingExtraError("the ocr annotator", "ocr") from exc
    root = Path(rapidocr.__file__).parent / "models"
    found = {kind: sorted(root.glob(f"*{kind}*.onnx")) for kind in ("det", "rec", "cls")}
    return {kind: paths[0] for kind, paths in found.items() if paths}


def find_models(model_dir: str) -> dict[str, Path]:
    """``det``/``rec`` (and optional ``cls``) ONNX files: ``*det*.onnx``, ``*rec*.onnx``, ``*cls*.onnx`` in
    ``model_dir``, or the wheel's when it is empty. A missing one raises ``MissingModelError``."""
    if not model_dir:
        models = wheel_models()
        where = "the rapidocr wheel"
    else:
        root = Path(model_dir).expanduser()
        models = {}
        for kind in ("det", "rec", "cls"):
            paths = sorted(root.glob(f"*{kind}*.onnx")) if root.is_dir() else []
            if paths:
                models[kind] = paths[0]
        where = f"annotate.ocr.model_dir = {model_dir!r}"
    for kind in ("det", "rec"):
        if kind not in models:
            raise MissingModelError(f"{where}: no *{kind}*.onnx there (PP-OCR {kind} model in ONNX)")
    return models


class OcrAnnotator(Annotator):
    """Text lines per keyframe (``ocr``), clip text measures (``ocr_clips``) and text boxes (``regions``)."""

    name = "ocr"
    version = "1"
    resources = Resources(cpus=1.0, memory_mb=1024)
    batch_size = 4
    tables: ClassVar[dict[str, TableSpec]] = {
        "ocr": TableSpec(OCR, ("clip_id", "frame", "line")),
        "ocr_clips": TableSpec(OCR_CLIPS, ("clip_id",)),
        "regions": TableSpec(REGIONS, ("kind", "clip_id", "frame", "region")),
    }

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {
            "model_dir": "",  # folder with *det*.onnx, *rec*.onnx (optional *cls*.onnx, keys.txt); "" = wheel
            "det_side": 384,  # longer side of the picture detection sees (pictures are ≤ 512 px)
            "box_thresh": 0.5,  # detection box score
            "min_score": 0.7,  # recognition score below which a line is dropped
            "min_chars": 2,  # shorter lines are dropped: lone glyphs are mostly drawn shapes (a square reads 口)
            "min_aspect": 1.5,  # boxes squarer than this (long side / short side) are not read: blobs, ≤ 1 glyph
            "use_cls": False,  # 180° text classifier (burned-in text is upright)
            "intra_op_num_threads": 1,  # onnxruntime threads per session: one worker per core
            "reuse": True,  # the text-change test
            "change_threshold": 0.25,  # share of a 16x16 tile whose grey moved ≥ 40 levels: "changed"
            "line_threshold": 0.05,  # the same, under known lines and for reusing a recognised line
            "bands": [[0.0, 0.2], [0.7, 1.0]],  # watched bands (top, bottom shares of the height)
            "refresh_every": 12,  # run OCR at least every N keyframes (0: only when something changed)
            "min_subtitle_frames": 12,  # frames subtitle-placed lines must cover for has_subtitles
        }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.engine: Any = None
        self.models: dict[str, Path] = {}
        self.calls = {"keyframes": 0, "det": 0, "rec_lines": 0, "reused_keyframes": 0}

    # ------------------------------------------------------------------ lifecycle
    def setup(self) -> None:
        self.models = find_models(str(self.params["model_dir"]))
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise MissingExtraError("the ocr annotator", "ocr") from exc
        if self.params["use_cls"] and "cls" not in self.models:
            raise MissingModelError(f"annotate.ocr.use_cls = true but annotate.ocr.model_dir = "
                                    f"{self.params['model_dir']!r} has no *cls*.onnx")
        cls_model = self.models.get("cls") or wheel_models().get("cls")
        params: dict[str, Any] = {
            "Global.log_level": "error", "Global.use_cls": bool(self.params["use_cls"]),
            "Global.text_score": float(self.params["min_score"]),
            "Det.model_path": str(self.models["det"]), "Rec.model_path": str(self.models["rec"]),
            "Det.limit_side_len": int(self.params["det_side"]), "Det.limit_type": "max",
            "Det.box_thresh": float(self.params["box_thresh"]),
            "EngineConfig.onnxruntime.intra_op_num_threads": int(self.params["intra_op_num_threads"]),
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        if cls_model is not None:
            params["Cls.model_path"] = str(cls_model)
        if self.params["model_dir"]:
            keys = sorted(Path(self.params["model_dir"]).expanduser().glob("*.txt"))
            if keys:
                params["Rec.rec_keys_path"] = str(keys[0])
        self.engine = RapidOCR(params=params)

    def model_files(self) -> list[Path]:
        kinds = ("det", "rec", "cls") if self.params["use_cls"] else ("det", "rec")
        return [self.models[k] for k in kinds if k in self.models]

    # ------------------------------------------------------------------ models (the only impure part)
    def detect(self, bgr: np.ndarray, y0: int = 0, y1: int | None = None) -> list[tuple[Box, np.ndarray]]:
        """Text line boxes of the rows [y0, y1) of a picture (detection only), in picture pixels."""
        self.calls["det"] += 1
        out = self.engine(np.ascontiguousarray(bgr[y0:y1]), use_det=True, use_cls=False, use_rec=False)
        boxes = getattr(out, "boxes", None)
        if boxes is None or len(boxes) == 0:
            return []
        found = []
        for poly in np.asarray(boxes, np.float32).reshape(-1, 4, 2):
            poly = poly + np.array([0.0, y0], np.float32)
            found.append(((float(poly[:, 0].min()), float(poly[:, 1].min()), float(poly[:, 0].max()),
                           float(poly[:, 1].max())), poly))
        return found

    def recognise(self, bgr: np.ndarray, polygons: list[np.ndarray]) -> list[tuple[str, float]]:
        """Text and score of each polygon's crop (one batched recognition call)."""
        if not polygons:
            return []
        self.calls["rec_lines"] += len(polygons)
        crops = self.engine.crop_text_regions(bgr, np.stack(polygons))
        if self.params["use_cls"]:
            crops, _ = self.engine.cls_and_rotate(crops)
        res = self.engine.recognize_txt(crops)
        return [(str(t).strip(), float(s)) for t, s in zip(res.txts or (), res.scores or ())]

    # ------------------------------------------------------------------ per clip
    def read_clip(self, item: ClipItem) -> list[tuple[int, list[Line], tuple[int, int]]]:
        """Lines of every keyframe of a clip, in order: (hold, lines, picture (width, height))."""
        import cv2

        out: list[tuple[int, list[Line], tuple[int, int]]] = []
        seen: Seen | None = None
        for frame, hold in item.keyframes:
            rgb = item.pictures[frame]
            self.calls["keyframes"] += 1
            seen, lines = self.step(seen, rgb, cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
            out.append((hold, lines, (rgb.shape[1], rgb.shape[0])))
        return out

    def step(self, seen: Seen | None, rgb: np.ndarray, gray: np.ndarray) -> tuple[Seen, list[Line]]:
        """One keyframe: the change test picks the row spans to detect in (none: copy every line; all:
        a full look), recognition runs on the boxes that are new or changed."""
        h = gray.shape[0]
        p = self.params
        threshold, every, reuse = float(p["change_threshold"]), int(p["refresh_every"]), bool(p["reuse"])
        comparable = seen is not None and reuse and seen.ref.shape == gray.shape
        changed = changed_tiles(seen.ref, gray, threshold) if comparable and seen is not None else None
        # under known lines the test is finer: a thin glyph vanishing moves few pixels of its tiles
        fine = changed_tiles(seen.ref, gray, float(p["line_threshold"])) if changed is not None and seen else None
        full = changed is None or seen is None or bool(every and seen.since + 1 >= every)
        if full:
            spans = [(0, h)]
        else:
            assert changed is not None and seen is not None
            assert fine is not None
            in_bands = np.zeros_like(changed)
            in_bands[band_rows([tuple(b) for b in p["bands"]], h)[: changed.shape[0]]] = True
            on_lines = np.zeros_like(changed)
            for ln in seen.lines:
                on_lines[tiles_of(ln.box)] = True
            hot_rows = ((changed & in_bands) | (fine & on_lines)).any(axis=1)
            if not hot_rows.any():
                self.calls["reused_keyframes"] += 1
                return replace(seen, since=seen.since + 1), [replace(ln, reused=True) for ln in seen.lines]
            spans = spans_to_examine(hot_rows, [ln.box for ln in seen.lines + seen.rejects], h)
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        found = [f for y0, y1 in spans for f in self.detect(bgr, y0, y1)]
        old = [] if seen is None else [*seen.lines, *seen.rejects]
        known: dict[int, Line] = {}
        if fine is not None:
            for i, (box, _) in enumerate(found):
                match = max(old, key=lambda ln, b=box: box_iou(ln.box, b), default=None)
                if match is not None and box_iou(match.box, box) >= 0.7 and not fine[tiles_of(box)].any():
                    known[i] = match
        todo = [i for i in range(len(found)) if i not in known and line_shaped(found[i][0], float(p["min_aspect"]))]
        read = dict(zip(todo, self.recognise(bgr, [found[i][1] for i in todo])))
        lines, rejects = [], []
        for i, (box, poly) in enumerate(found):
            if i in known:
                line = replace(known[i], box=box, polygon=poly, reused=True)
                (lines if line.text else rejects).append(line)
            elif i in read and keep_line(read[i][0], read[i][1], p):
                lines.append(Line(read[i][0], read[i][1], box, poly))
            else:
                rejects.append(Line("", 0.0, box, poly))
        if full:
            return Seen(gray, order_lines(lines), rejects, 0), order_lines(lines)
        assert seen is not None
        ref = seen.ref.copy()
        for y0, y1 in spans:
            ref[y0:y1] = gray[y0:y1]
        lines += [replace(ln, reused=True) for ln in seen.lines if not in_spans(ln.box, spans)]
        rejects += [r for r in seen.rejects if not in_spans(r.box, spans)]
        lines = order_lines(lines)
        return Seen(ref, lines, rejects, seen.since + 1), lines

    def annotate(self, batch: list[ClipItem]) -> Annotations:
        out = Annotations()
        for item in batch:
            frames = self.read_clip(item)
            for (frame, _), (_, lines, _) in zip(item.keyframes, frames):
                sx, sy = item.picture_scale(frame) if lines else (1.0, 1.0)
                for i, ln in enumerate(lines):
                    x0, y0, x1, y1 = ln.box[0] * sx, ln.box[1] * sy, ln.box[2] * sx, ln.box[3] * sy
                    out.add("ocr", {"clip_id": item.clip_id, "frame": frame, "line": i, "text": ln.text,
                                    "score": ln.score, "x0": x0, "y0": y0, "x1": x1, "y1": y1,
                                    "reused": ln.reused})
                    out.add("regions", {"kind": "text", "clip_id": item.clip_id, "frame": frame, "region": i,
                                        "x0": x0, "y0": y0, "x1": x1, "y1": y1, "score": ln.score,
                                        "label": ln.text, "track_id": -1, "keypoints": None})
            summary = summarize_clip(frames, int(self.params["min_subtitle_frames"]))
            out.add("ocr_clips", {"clip_id": item.clip_id, **summary})
            out.coverage[item.clip_id] = len(frames)
        return out
