"""The ocr annotator on a tiny built dataset with rendered text: rows, boxes, subtitles, the change test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.helpers import scene, write_video

pytest.importorskip("rapidocr", reason="the ocr extra (rapidocr) is not installed")
pytest.importorskip("onnxruntime", reason="the ocr extra (onnxruntime) is not installed")

import cv2

from toonset import open_dataset
from toonset.annotate.base import ClipItem, MissingModelError, Pictures
from toonset.annotate.ocr import (
    Line,
    OcrAnnotator,
    changed_share,
    is_subtitle_line,
    summarize_clip,
)
from toonset.annotate.runner import annotate_dataset
from toonset.config import BuildConfig
from toonset.evaluate.text import cer
from toonset.run import build_dataset

W, H = 1024, 576  # source frames; the stored pictures are 512x288, so picture pixels ≠ source pixels
FONT, SCALE, THICK = cv2.FONT_HERSHEY_SIMPLEX, 2.2, 5


def text_box(text: str, org: tuple[int, int]) -> tuple[int, int, int, int]:
    (tw, th), base = cv2.getTextSize(text, FONT, SCALE, THICK)
    return org[0], org[1] - th, org[0] + tw, org[1] + base


def subtitle(img: np.ndarray, text: str) -> tuple[int, int, int, int]:
    """White text on a dark box, bottom centre; returns the text's box in source pixels."""
    (tw, _), _ = cv2.getTextSize(text, FONT, SCALE, THICK)
    org = ((W - tw) // 2, H - 50)
    x0, y0, x1, y1 = text_box(text, org)
    cv2.rectangle(img, (x0 - 16, y0 - 16), (x1 + 16, y1 + 12), (20, 20, 28), -1)
    cv2.putText(img, text, org, FONT, SCALE, (255, 255, 255), THICK, cv2.LINE_AA)
    return x0, y0, x1, y1


def logo(img: np.ndarray) -> tuple[int, int, int, int]:
    org = (40, 100)
    x0, y0, x1, y1 = text_box("TOON", org)
    cv2.rectangle(img, (x0 - 14, y0 - 14), (x1 + 14, y1 + 10), (250, 250, 250), -1)
    cv2.putText(img, "TOON", org, FONT, SCALE, (10, 10, 10), THICK, cv2.LINE_AA)
    return x0, y0, x1, y1


BOXES: dict[str, tuple[int, int, int, int]] = {}


def figure(seed: int, pose: int) -> np.ndarray:
    """A background with a big outlined 'character' that moves with ``pose`` (mid-height, clear of the
    top and bottom bands the change test watches)."""
    img = scene(seed, W, H)
    x, y = 300 + 30 * pose, 260 + 6 * (pose % 3)
    cv2.circle(img, (x, y), 60, (250, 220, 180), -1)
    cv2.circle(img, (x, y), 60, (0, 0, 0), 5)
    cv2.line(img, (x, y + 60), (x + (pose % 3 - 1) * 40, y + 110), (0, 0, 0), 6)
    return img


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Shot 1: subtitle "HELLO WORLD" (frames 0-11) then "GOOD NIGHT" (12-23), figure on twos; shot 2: no
    text; shot 3: a top-left logo. Source 1024x576, 24 fps."""
    d = tmp_path_factory.mktemp("ocr")
    frames = []
    for i in range(24):
        img = figure(3, i // 2)
        BOXES["HELLO WORLD" if i < 12 else "GOOD NIGHT"] = subtitle(img, "HELLO WORLD" if i < 12 else "GOOD NIGHT")
        frames.append(img)
    frames += [figure(7, i // 2) for i in range(16)]
    for i in range(16):
        img = figure(11, i // 2)
        BOXES["TOON"] = logo(img)
        frames.append(img)
    write_video(d / "t.mp4", frames)
    build_dataset([str(d / "t.mp4")], d / "ds", BuildConfig(), workers=1, media=False)
    return d / "ds"


def items(ds_path: Path) -> list[ClipItem]:
    ds = open_dataset(ds_path)
    sources = {s["source_id"]: s for s in ds.sources.to_pylist()}
    kf: dict[str, list[tuple[int, int]]] = {}
    t = ds.keyframes.to_pydict()
    for cid, frame, hold in zip(t["clip_id"], t["frame"], t["hold"]):
        kf.setdefault(cid, []).append((frame, hold))
    clips = sorted(ds.clips.to_pylist(), key=lambda c: c["start_frame"])
    return [ClipItem(c, sources[c["source_id"]], kf[c["clip_id"]],
                     Pictures([f for f, _ in kf[c["clip_id"]]], lambda f, cid=c["clip_id"]: ds.keyframe_image(cid, f)))
            for c in clips]


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_rows_text_boxes_and_clip_measures(built, tmp_path):
    import shutil

    ds_path = tmp_path / "ds"
    shutil.copytree(built, ds_path)
    annotate_dataset(ds_path, ["ocr"], workers=1)
    ds = open_dataset(ds_path)
    clips = sorted(ds.clips.to_pylist(), key=lambda c: c["start_frame"])
    assert [c["start_frame"] for c in clips] == [0, 24, 40], "the fixture should give three shots"
    sub_clip, plain_clip, logo_clip = (c["clip_id"] for c in clips)
    assert ds.keyframe_image(sub_clip, 0).shape[:2] == (288, 512)  # picture scale 2 vs the source
    ocr = ds.annotation("ocr").to_pandas()
    kf = ds.df("keyframes")
    # rows only where text is: every keyframe of the subtitle and logo shots, none of the plain shot
    assert plain_clip not in set(ocr.clip_id)
    for cid in (sub_clip, logo_clip):
        assert set(ocr[ocr.clip_id == cid].frame) == set(kf[kf.clip_id == cid].frame)
    # recognised text, per frame, in source pixels where it was drawn
    for _, row in ocr.iterrows():
        truth = "TOON" if row.clip_id == logo_clip else ("HELLO WORLD" if row.frame < 12 else "GOOD NIGHT")
        assert cer(row.text, truth) <= 0.2, (row.frame, row.text, truth)
        got, drawn = (row.x0, row.y0, row.x1, row.y1), BOXES[truth]
        # the detector's box (PP-OCR grows it a little around the glyphs) holds the drawn text, centred on it
        assert got[0] <= drawn[0] + 4 and got[1] <= drawn[1] + 4 and got[2] >= drawn[2] - 4 and got[3] >= drawn[3] - 4
        assert abs((got[0] + got[2]) - (drawn[0] + drawn[2])) / 2 < 16, (row.frame, got, drawn)
        assert abs((got[1] + got[3]) - (drawn[1] + drawn[3])) / 2 < 16, (row.frame, got, drawn)
        assert iou(got, drawn) >= 0.4, (row.frame, got, drawn)
    clip_rows = {r["clip_id"]: r for r in ds.annotation("ocr_clips").to_pylist()}
    assert clip_rows[sub_clip]["has_subtitles"] and not clip_rows[logo_clip]["has_subtitles"]
    assert not clip_rows[plain_clip]["has_subtitles"]
    assert clip_rows[plain_clip]["text_coverage"] == 0 and clip_rows[plain_clip]["text_score"] == 0
    assert clip_rows[plain_clip]["text"] == ""
    assert clip_rows[sub_clip]["text_coverage"] == pytest.approx(1.0)
    assert 0.5 < clip_rows[sub_clip]["text_score"] <= clip_rows[sub_clip]["text_coverage"]
    assert 0.0 < clip_rows[sub_clip]["text_area"] < 0.2
    assert [cer(t, w) <= 0.2 for t, w in zip(clip_rows[sub_clip]["text"].split(" | "),
                                             ["HELLO WORLD", "GOOD NIGHT"])] == [True, True]
    # the shared regions table mirrors the lines; coverage counts every keyframe
    regions = ds.annotation("regions").to_pandas()
    assert len(regions) == len(ocr) and set(regions.kind) == {"text"} and set(regions.track_id) == {-1}
    assert set(regions.label) == set(ocr.text) and regions.keypoints.isna().all()
    cov = ds.annotation("coverage").to_pandas()
    assert cov.keyframes_seen.sum() == len(kf) and (cov.status == "ok").all()


def test_change_test_reuses_held_text_and_reruns_when_it_changes(built):
    sub = items(built)[0]
    ann = OcrAnnotator()
    ann.setup()
    out = ann.annotate([sub])
    rows = out.rows["ocr"]
    n = len(sub.keyframes)
    assert ann.calls["keyframes"] == n
    assert ann.calls["det"] <= 3 < n, ann.calls  # the first keyframe, the text change (and a refresh)
    assert ann.calls["rec_lines"] <= 3
    by_frame = {r["frame"]: r for r in rows}
    first_new = min(f for f in by_frame if f >= 12)
    assert not by_frame[0]["reused"] and not by_frame[first_new]["reused"]  # OCR ran when the text changed
    assert cer(by_frame[first_new]["text"], "GOOD NIGHT") <= 0.2
    assert sum(r["reused"] for r in rows) >= n - 3
    # without the change test every keyframe is OCR'd, with the same text
    full = OcrAnnotator(reuse=False)
    full.setup()
    rows_full = full.annotate([sub]).rows["ocr"]
    assert full.calls["det"] == n and not any(r["reused"] for r in rows_full)
    assert [r["text"] for r in rows_full] == [r["text"] for r in rows]


def test_never_downloads_and_model_dir(built, tmp_path, monkeypatch):
    from rapidocr.utils import download_file

    def refuse(*a, **k):
        raise AssertionError("rapidocr tried to download")

    monkeypatch.setattr(download_file.DownloadFile, "run", classmethod(refuse))
    with pytest.raises(MissingModelError, match=r"annotate\.ocr\.model_dir"):
        OcrAnnotator(model_dir=str(tmp_path / "nowhere")).setup()
    wheel = OcrAnnotator()
    wheel.setup()
    mine = tmp_path / "models"
    mine.mkdir()
    for kind, path in wheel.models.items():
        (mine / f"my_{kind}.onnx").symlink_to(path)
    ann = OcrAnnotator(model_dir=str(mine))
    ann.setup()
    assert sorted(p.name for p in ann.model_files()) == ["my_det.onnx", "my_rec.onnx"]
    logo_item = items(built)[2]
    rows = ann.annotate([logo_item]).rows["ocr"]
    assert rows and all(cer(r["text"], "TOON") <= 0.25 for r in rows)


def test_change_measure_and_clip_summary():
    a = np.full((60, 200), 30, np.uint8)
    cv2.putText(a, "ABC", (10, 45), FONT, 1.2, 255, 3)
    noisy = np.clip(a.astype(int) + np.random.default_rng(0).normal(0, 6, a.shape), 0, 255).astype(np.uint8)
    c = np.full_like(a, 30)
    cv2.putText(c, "XYZ", (10, 45), FONT, 1.2, 255, 3)
    wide = np.full((60, 600), 30, np.uint8)
    wide[:, :200] = a
    wide2 = wide.copy()
    wide2[:, :200] = c
    assert changed_share(a, a) == 0.0
    assert changed_share(a, noisy) < 0.05  # grain / re-encoding noise is not a change
    assert changed_share(a, c) > 0.2
    assert changed_share(wide, wide2) > 0.2  # a changed word inside a wide unchanged band still shows
    w, h = 512, 288
    assert is_subtitle_line((156, 240, 356, 270), w, h) and not is_subtitle_line((10, 10, 120, 50), w, h)
    poly = np.zeros((4, 2), np.float32)
    sub = Line("hi there", 0.9, (156, 240, 356, 270), poly)
    sign = Line("SHOP", 0.6, (10, 10, 120, 50), poly)
    s = summarize_clip([(4, [sub], (w, h)), (4, [sign, sub], (w, h)), (8, [], (w, h))], 6)
    assert s["keyframes_seen"] == 3 and s["keyframes_with_text"] == 2
    assert s["text_coverage"] == pytest.approx(0.5) and s["text_score"] == pytest.approx(0.45)
    assert s["has_subtitles"] and s["text"] == "hi there | SHOP"
    area = (200 * 30) / (w * h)
    assert s["text_area"] == pytest.approx((4 * area + 4 * (area + 110 * 40 / (w * h))) / 16)
    short = summarize_clip([(2, [sub], (w, h)), (30, [], (w, h))], 12)
    assert not short["has_subtitles"]  # a subtitle-placed line on 2 of 32 frames does not persist
