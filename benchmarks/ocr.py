"""The ``ocr`` annotator: text presence per frame, subtitle CER, and speed against plain rapidocr.

Sets (none of them evaluation-only):

* ``synth``: ``toonset synth`` cartoons (1920x1080, 24 fps by default) whose burned-in captions are exact
  truth (``truth["text"]``: text, box, frames [start, end));
* ``onepiece-dev``: ``realesrgan-onepiece/onepiece_demo.mp4`` with the team's eye-verified subtitle
  intervals (``dev-labels/.../onepiece_demo.reference.json``; frames [a, b] inclusive). Settings were
  chosen on this clip and on synthetic footage: it is a dev set, not an evaluation.

Each set is built with ``toonset.run.build_dataset`` and annotated with ``annotate_dataset(..., ["ocr"])``
(default settings, then ``reuse = false``: every keyframe OCR'd). Per keyframe the prediction is "text
present" when it has a line; it is expanded to frames by holds and compared with the truth on every frame
the clips cover. CER: per truth caption, the recognised line (boxes overlapping the truth box, the text
covering most frames of the caption) against the truth, whitespace removed, Σ edits / Σ truth characters.

Speed: each clip is annotated again in this process and timed with ``time.process_time`` (CPU seconds,
picture decoding included); real-time factor = clip seconds / CPU seconds. The anchor is plain rapidocr
(its default config) on every 4th full-resolution source frame, timed the same way on ``--anchor-frames``
frames.

    .venv/bin/python benchmarks/ocr.py                     # synth 6 × 1080p + onepiece-dev
    .venv/bin/python benchmarks/ocr.py --synth 2 --anchor-frames 4
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from common import REALDATA, REPO, synthetic_clips
from toonset.evaluate.text import levenshtein

ONEPIECE_LABELS = REALDATA / "dev-labels" / "realesrgan-onepiece" / "onepiece_demo.reference.json"
ONEPIECE = REALDATA / "realesrgan-onepiece" / "onepiece_demo.mp4"
CACHE = REPO / "benchmarks" / "results" / "ocr"


# --------------------------------------------------------------------------------------------- truth
def synth_truth(truth: dict) -> list[dict[str, Any]]:
    return [{"start": t["start_frame"], "end": t["end_frame"], "text": t["text"], "bbox": t["bbox"]}
            for t in truth["text"]]


def onepiece_truth() -> list[dict[str, Any]]:
    data = json.loads(ONEPIECE_LABELS.read_text())
    return [{"start": t["frames"][0], "end": t["frames"][1] + 1, "text": t["text"], "bbox": t["bbox_xyxy_approx"]}
            for t in data["text_in_frame_verified"]]


# --------------------------------------------------------------------------------------------- metrics
def squash(text: str) -> str:
    return "".join(text.split())


def frame_spans(keyframes) -> dict[str, list[tuple[int, int]]]:
    """clip_id → [(frame, hold)]."""
    out: dict[str, list[tuple[int, int]]] = {}
    for cid, frame, hold in zip(keyframes["clip_id"], keyframes["frame"], keyframes["hold"]):
        out.setdefault(cid, []).append((int(frame), int(hold)))
    return out


def score_source(spans: dict[str, list[tuple[int, int]]], rows: list[dict], truth: list[dict]) -> dict[str, Any]:
    """Frame-level presence counts and CER edits for one source video."""
    with_text = {(r["clip_id"], r["frame"]) for r in rows}
    tp = fp = fn = tn = 0
    frame_pred: dict[int, bool] = {}
    for cid, kfs in spans.items():
        for frame, hold in kfs:
            for f in range(frame, frame + hold):
                frame_pred[f] = (cid, frame) in with_text
    for f, pred in frame_pred.items():
        real = any(t["start"] <= f < t["end"] for t in truth)
        tp += pred and real
        fp += pred and not real
        fn += real and not pred
        tn += not pred and not real
    edits = chars = 0
    examples = []
    by_frame: dict[int, list[dict]] = {}
    for r in rows:
        by_frame.setdefault(r["frame"], []).append(r)
    holds = {frame: hold for kfs in spans.values() for frame, hold in kfs}
    for t in truth:
        votes: Counter[str] = Counter()
        bx0, by0, bx1, by1 = t["bbox"]
        for frame, lines in by_frame.items():
            overlap = min(frame + holds.get(frame, 1), t["end"]) - max(frame, t["start"])
            if overlap <= 0:
                continue
            near = [ln for ln in sorted(lines, key=lambda ln: ln["x0"])
                    if min(ln["x1"], bx1) > max(ln["x0"], bx0) and min(ln["y1"], by1) > max(ln["y0"], by0)]
            if near:
                votes[" ".join(ln["text"] for ln in near)] += overlap
        pred = votes.most_common(1)[0][0] if votes else ""
        edits += levenshtein(squash(pred), squash(t["text"]))
        chars += len(squash(t["text"]))
        examples.append((t["text"], pred))
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "edits": edits, "chars": chars, "examples": examples}


def summarize(parts: list[dict[str, Any]]) -> dict[str, Any]:
    tp, fp, fn, tn = (sum(p[k] for p in parts) for k in ("tp", "fp", "fn", "tn"))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    chars = sum(p["chars"] for p in parts)
    return {"frames": tp + fp + fn + tn, "text_frames": tp + fn, "precision": round(precision, 4),
            "recall": round(recall, 4), "f1": round(f1, 4),
            "cer": round(sum(p["edits"] for p in parts) / chars, 4) if chars else None, "captions": sum(
                len(p["examples"]) for p in parts)}


# --------------------------------------------------------------------------------------------- runs
def build(name: str, videos: list[Path]) -> Path:
    from toonset.config import BuildConfig
    from toonset.run import build_dataset

    out = CACHE / name
    if not (out / "dataset.json").exists():
        build_dataset([str(v) for v in videos], out, BuildConfig(), workers=1, media=False, overwrite=True)
    return out


def accuracy(ds_path: Path, truths: dict[str, list[dict]], settings: dict[str, Any]) -> dict[str, Any]:
    """annotate_dataset with ``settings``, then presence/CER against the truth of each source."""
    import shutil

    from toonset import open_dataset
    from toonset.annotate.runner import annotate_dataset

    shutil.rmtree(ds_path / "annotations", ignore_errors=True)
    t0 = time.perf_counter()
    annotate_dataset(ds_path, ["ocr"], {"ocr": settings}, workers=1, clips_per_task=8)
    wall = time.perf_counter() - t0
    ds = open_dataset(ds_path)
    rows = ds.annotation("ocr").to_pylist()
    clips = ds.clips.to_pylist()
    sources = {s["source_id"]: Path(s["path"]).name for s in ds.sources.to_pylist()}
    clip_source = {c["clip_id"]: sources[c["source_id"]] for c in clips}
    spans = frame_spans(ds.keyframes.to_pydict())
    parts = []
    for src_name, truth in truths.items():
        own = {cid: kf for cid, kf in spans.items() if clip_source.get(cid) == src_name}
        parts.append(score_source(own, [r for r in rows if clip_source.get(r["clip_id"]) == src_name], truth))
    result = summarize(parts)
    result["wall_s"] = round(wall, 2)
    result["reused_rows"] = sum(bool(r["reused"]) for r in rows)
    result["rows"] = len(rows)
    result["examples"] = [e for p in parts for e in p["examples"]][:6]
    subs = ds.annotation("ocr_clips").to_pandas()
    result["clips_with_subtitles"] = int(subs.has_subtitles.sum())
    result["clips"] = len(subs)
    return result


def speed(ds_path: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Per clip: clip seconds / CPU seconds of ``annotate`` (pictures decoded inside the timing)."""
    from toonset import open_dataset
    from toonset.annotate.base import ClipItem, Pictures
    from toonset.annotate.ocr import OcrAnnotator

    ds = open_dataset(ds_path)
    ann = OcrAnnotator(**params)
    ann.setup()
    sources = {s["source_id"]: s for s in ds.sources.to_pylist()}
    spans = frame_spans(ds.keyframes.to_pydict())
    factors, clip_s, cpu_s = [], 0.0, 0.0
    for clip in ds.clips.to_pylist():
        cid = clip["clip_id"]
        kfs = spans.get(cid, [])
        item = ClipItem(clip, sources[clip["source_id"]], kfs,
                        Pictures([f for f, _ in kfs], lambda f, c=cid: ds.keyframe_image(c, f)))
        t0 = time.process_time()
        ann.annotate([item])
        cpu = time.process_time() - t0
        seconds = clip["num_frames"] / sources[clip["source_id"]]["fps"]
        factors.append(seconds / max(cpu, 1e-6))
        clip_s += seconds
        cpu_s += cpu
    calls = ann.calls
    return {"clips": len(factors), "clip_seconds": round(clip_s, 2), "cpu_seconds": round(cpu_s, 2),
            "rtf_total": round(clip_s / max(cpu_s, 1e-6), 2),
            "rtf_median_clip": round(float(np.median(factors)), 2) if factors else None,
            "rtf_min_clip": round(float(np.min(factors)), 2) if factors else None,
            "keyframes": calls["keyframes"], "det_calls": calls["det"], "rec_lines": calls["rec_lines"],
            "reused_keyframes": calls["reused_keyframes"]}


def anchor(video: Path, truth: list[dict], frames: int) -> dict[str, Any]:
    """Plain rapidocr (default config, wheel models) on every 4th full-resolution frame: s/frame, and
    presence on those frames."""
    import av
    import rapidocr
    from rapidocr import RapidOCR

    root = Path(rapidocr.__file__).parent / "models"
    eng = RapidOCR(params={"Global.log_level": "error",
                           "Det.model_path": str(next(root.glob("*det*.onnx"))),
                           "Rec.model_path": str(next(root.glob("*rec*.onnx"))),
                           "Cls.model_path": str(next(root.glob("*cls*.onnx")))})
    cpu, done, hits, real_hits = 0.0, 0, 0, 0
    with av.open(str(video)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % 4:
                continue
            bgr = frame.to_ndarray(format="bgr24")
            t0 = time.process_time()
            out = eng(bgr)
            cpu += time.process_time() - t0
            found = bool(getattr(out, "txts", None))
            real = any(t["start"] <= i < t["end"] for t in truth)
            hits += found == real
            real_hits += real
            done += 1
            if done >= frames:
                break
    with av.open(str(video)) as c:
        fps = float(c.streams.video[0].average_rate)
    per_frame = cpu / max(done, 1)
    return {"frames": done, "s_per_frame": round(per_frame, 3), "rtf": round((4 / fps) / per_frame, 4),
            "presence_agreement": round(hits / max(done, 1), 3), "text_frames": real_hits}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--synth", type=int, default=6, help="synthetic videos (0: none)")
    ap.add_argument("--seed", type=int, default=2031)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--anchor-frames", type=int, default=8, help="frames timed for the plain-rapidocr anchor")
    ap.add_argument("--no-full", action="store_true", help="skip the reuse = false accuracy run")
    ap.add_argument("--json", type=Path, default=CACHE / "ocr.json")
    args = ap.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {}
    sets: dict[str, tuple[list[Path], dict[str, list[dict]]]] = {}
    if args.synth:
        w, h = (int(v) for v in args.size.split("x"))
        clips = synthetic_clips(args.synth, args.seed, REPO / "benchmarks" / "results", size=(w, h))
        sets[f"synth-{args.synth}-{args.seed}-{args.size}"] = (
            [c.path for c in clips], {c.path.name: synth_truth(c.truth) for c in clips})
    if ONEPIECE.exists() and ONEPIECE_LABELS.exists():
        sets["onepiece-dev"] = ([ONEPIECE], {ONEPIECE.name: onepiece_truth()})
    for name, (videos, truths) in sets.items():
        ds_path = build(name, videos)
        entry: dict[str, Any] = {"videos": len(videos)}
        entry["default"] = accuracy(ds_path, truths, {})
        if not args.no_full:
            entry["every_keyframe"] = accuracy(ds_path, truths, {"reuse": False})
        entry["speed_default"] = speed(ds_path, {})
        if args.anchor_frames:
            first = videos[0]
            entry["anchor_plain_rapidocr"] = anchor(first, truths[first.name], args.anchor_frames)
        report[name] = entry
        print(json.dumps({name: entry}, indent=1, ensure_ascii=False), flush=True)
    args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
