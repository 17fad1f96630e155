"""The ``quality`` annotator: classical picture-quality metrics per keyframe, hold-weighted per clip.

Measured on the stored keyframe pictures (longer side ≤ 512, JPEG 90), i.e. on what a model trained at
that size sees; every metric is a small pure function of one picture below, costing a few milliseconds.
Black bars are found first and the content metrics are measured inside them (bars would otherwise add
contrast, remove colour and hide noise). An optional bring-your-own aesthetic predictor (ONNX) scores
either the pictures themselves or the image vectors the ``embeddings`` annotator stored; without one the
``aesthetic`` column is null — a score is never made up. Units are documented in docs/annotators/quality.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import pyarrow as pa

from toonset.annotate.base import (
    Annotations,
    Annotator,
    ClipItem,
    MissingModelError,
    TableSpec,
    evenly_spaced,
)
from toonset.errors import UsageError
from toonset.io.decode import sha256_file
from toonset.pipeline.stage import Resources

# per-keyframe metrics in column order (all float64; ``blockiness`` and ``sharpness`` may be null)
FRAME_METRICS = ("sharpness", "blockiness", "noise", "contrast", "luma_range", "brightness", "colourfulness",
                 "line_density", "letterbox", "pillarbox")
CLIP_ONLY = ("black_share", "blank_share")

QUALITY_FRAMES = pa.schema(
    [("clip_id", pa.string()), ("frame", pa.int64()), ("hold", pa.int64())]
    + [(m, pa.float64()) for m in FRAME_METRICS]
    + [("black", pa.bool_()), ("blank", pa.bool_()), ("aesthetic", pa.float64())]
)
QUALITY = pa.schema(
    [("clip_id", pa.string()), ("keyframes", pa.int64())]
    + [(m, pa.float64()) for m in FRAME_METRICS + CLIP_ONLY]
    + [("aesthetic", pa.float64()), ("aesthetic_model", pa.string())]
)

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # OpenAI CLIP's RGB normalisation (the usual aesthetic heads)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SOURCE_BLOCKS = (8, 16, 32)  # coding grids in source pixels: DCT blocks, macroblocks, larger HEVC/VP9 units
STEP_CAP = 12  # luma levels: larger neighbour steps are drawn edges, not block edges
MIN_GRID_PERIOD = 3.0  # below this many picture pixels per source block the grid does not survive resizing


# --------------------------------------------------------------------------------------------- helpers
def luma_of(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma, uint8 (the weights the keyframe pictures were converted with)."""
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def histogram_u8(plane: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """256-bin histogram of a uint8 plane (OpenCV: ~0.1 ms for 512×288), float64."""
    return cv2.calcHist([np.ascontiguousarray(plane)], [0], mask, [256], [0, 256]).reshape(-1).astype(np.float64)


def percentiles_of(hist: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Percentiles (0..100) from a 256-bin histogram: the lowest level whose cumulative share reaches q."""
    cdf = np.cumsum(hist) / max(1.0, float(hist.sum()))
    return [float(min(255, np.searchsorted(cdf, q / 100.0 - 1e-12, side="left"))) for q in qs]


# --------------------------------------------------------------------------------------------- bars
def bar_extent(dark_share: np.ndarray, max_fraction: float = 0.4) -> int:
    """How many lines from the edge (index 0 first) belong to a black bar, from each line's share of dark
    pixels: the furthest line that is dark (≥ 95%) such that every line up to it is mostly dark (≥ 60%)
    and at least half of them are dark — so subtitles burned into a bar (lines that are only mostly dark)
    stay inside it — and the bar ends in a sharp edge. At most ``max_fraction`` of the lines. A dark
    picture next to a bar hides the edge: that bar is missed rather than guessed."""
    limit = int(len(dark_share) * max_fraction)
    if limit <= 0:
        return 0
    d = dark_share[:limit]
    strict = d >= 0.95
    loose_so_far = np.cumprod(d >= 0.6).astype(bool)
    share = np.cumsum(strict) / np.arange(1, limit + 1)
    ok = np.flatnonzero(strict & loose_so_far & (share >= 0.5))
    if not ok.size:
        return 0
    end = int(ok[-1]) + 1
    # a bar ends in a straight edge: within 3 lines the picture is mostly not dark (a dark scene around a
    # bright object fades in gradually instead, and is not taken for bars)
    return end if float(dark_share[end : end + 3].min(initial=1.0)) <= 0.6 else 0


def black_bars(y: np.ndarray, black_level: int, min_bar: float = 0.01) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) bar sizes in picture pixels; a pixel is dark at luma ≤ ``black_level``.
    Bars thinner than ``min_bar`` of the side are ignored (encoder edge lines); when the bars would leave
    less than 20% of the picture the frame is dark, not barred, and (0, 0, 0, 0)."""
    dark = (y <= black_level).astype(np.float32)
    rows = cv2.reduce(dark, 1, cv2.REDUCE_AVG).reshape(-1)
    cols = cv2.reduce(dark, 0, cv2.REDUCE_AVG).reshape(-1)
    h, w = y.shape
    top, bottom = bar_extent(rows), bar_extent(rows[::-1])
    left, right = bar_extent(cols), bar_extent(cols[::-1])
    top, bottom = (v if v >= max(2, min_bar * h) else 0 for v in (top, bottom))
    left, right = (v if v >= max(2, min_bar * w) else 0 for v in (left, right))
    if h - top - bottom < 0.2 * h or w - left - right < 0.2 * w:
        return 0, 0, 0, 0
    return top, bottom, left, right


# --------------------------------------------------------------------------------------------- metrics
def _axis_diffs(a: np.ndarray, axis: int) -> np.ndarray:
    """|a[i+1] − a[i]| along ``axis`` (0: down the rows, 1: along the columns), with OpenCV."""
    return cv2.absdiff(a[1:], a[:-1]) if axis == 0 else cv2.absdiff(a[:, 1:], a[:, :-1])


def sharpness(y: np.ndarray) -> float | None:
    """1 − the blur effect of Crete-Roffet et al. (2007): re-blur with a 9-tap box along each axis and
    measure the share of neighbour differences that survive. Flat cel areas contribute to neither sum, so
    the value depends on how edges look, not on how many there are; it is invariant to contrast.
    0..1, higher is sharper. None for a flat picture (no neighbour differences to judge). Exact integer
    arithmetic (box sums, not means) keeps it at ~1 ms for 512×288."""
    y16 = y.astype(np.int16)
    best, seen = 0.0, False
    for axis, ksize in ((0, (1, 9)), (1, (9, 1))):
        d_f = _axis_diffs(y16, axis)
        s_f = float(cv2.sumElems(d_f)[0])
        if s_f < 0.02 * d_f.size:  # (almost) no structure along this axis
            continue
        box = cv2.boxFilter(y16, cv2.CV_16S, ksize, normalize=False, borderType=cv2.BORDER_REFLECT)
        lost = cv2.subtract(cv2.multiply(d_f, 9), _axis_diffs(box, axis))  # 9 × (d_F − d_B)
        s_v = float(cv2.sumElems(cv2.max(lost, 0))[0]) / 9.0
        best, seen = max(best, (s_f - s_v) / s_f), True
    return 1.0 - best if seen else None


def _grid_energy(profile: np.ndarray, period: float) -> tuple[float, float]:
    """Mean of a difference profile at the block grid and at phases ¼, ⅜, ⅝, ¾ of a period off it
    (not ½: that is the 4-pixel grid of H.264's small transform), linearly interpolated at fractional
    positions. ``profile[j]`` is the step between pixels j and j+1, at coordinate j+1."""
    n = len(profile)
    k = np.arange(1, int((n + 1) / period) + 1)
    grid = k * period - 1.0
    grid = grid[(grid >= 0) & (grid <= n - 1)]
    if grid.size < 2:
        return 0.0, 0.0
    xs = np.arange(n, dtype=np.float64)
    on = float(np.interp(grid, xs, profile).mean())
    off_pos = np.concatenate([grid + f * period for f in (0.25, 0.375, 0.625, 0.75)])
    off_pos = off_pos[off_pos <= n - 1]
    off = float(np.interp(off_pos, xs, profile).mean()) if off_pos.size else 0.0
    return on, off


def grid_block(sx: float, sy: float) -> int:
    """The finest source coding grid (8, 16 or 32 source pixels) that is still at least 3 picture pixels
    apart after the picture was shrunk by (sx, sy); 0 when none is (a source over 32×… the picture)."""
    return next((b for b in SOURCE_BLOCKS if b / max(sx, sy) >= MIN_GRID_PERIOD), 0)


def blockiness(y: np.ndarray, period_x: float, period_y: float) -> float | None:
    """Excess of luma steps on the source's coding grid over steps between grid lines, 0..1: (on − off)
    / on summed over both axes, clipped at 0. The grid is the source's, scaled into the picture
    (``period`` = one source block in picture pixels): 8-px blocks of a 720-px DVD land 5.7 px apart in a
    512-px picture. For sources ≤ 512 px the grid is the picture's own, so the stored JPEG 90 adds a small
    floor. None when the picture is flat (no steps at all)."""
    # steps between neighbouring columns (rows), averaged down (across) the picture
    # capped at STEP_CAP levels: block edges are small steps, and a few strong drawn lines that happen to
    # fall on the grid must not outweigh them
    col = cv2.reduce(cv2.min(_axis_diffs(y, 1), STEP_CAP), 0, cv2.REDUCE_AVG, dtype=cv2.CV_32F)
    row = cv2.reduce(cv2.min(_axis_diffs(y, 0), STEP_CAP), 1, cv2.REDUCE_AVG, dtype=cv2.CV_32F)
    col, row = col.reshape(-1).astype(np.float64), row.reshape(-1).astype(np.float64)
    on_x, off_x = _grid_energy(col, period_x)
    on_y, off_y = _grid_energy(row, period_y)
    on, off = on_x + on_y, off_x + off_y
    if on < 0.05:
        return None
    return float(np.clip((on - off) / on, 0.0, 1.0))


_HIGHPASS = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)  # Immerkær (1996); L2 norm 6


def noise_sigma(y: np.ndarray) -> float:
    """σ of additive noise in 8-bit luma levels, after Immerkær (1996): the 3×3 high-pass residual cancels
    flat and linear shading, and √(π/2)·mean|residual|/6 estimates σ of i.i.d. Gaussian noise; it is
    averaged over the flattest 90% of pixels only (Sobel gradient at or below its 90th percentile, as Tai &
    Yang 2008) so lines and texture count little. Clean digital cels read ~0.3-1.4 (JPEG and resampling
    residue, fine texture); the value is what survives the picture's resizing and JPEG 90, less than a σ
    added at source size.
    In uint8 (saturating at 255 only on strong edges, which the mask leaves out)."""
    if y.shape[0] < 3 or y.shape[1] < 3:
        return 0.0
    r = cv2.convertScaleAbs(cv2.filter2D(y, cv2.CV_16S, _HIGHPASS, borderType=cv2.BORDER_REFLECT))[1:-1, 1:-1]
    g = cv2.add(cv2.convertScaleAbs(cv2.Sobel(y, cv2.CV_16S, 1, 0, ksize=3)),
                cv2.convertScaleAbs(cv2.Sobel(y, cv2.CV_16S, 0, 1, ksize=3)))[1:-1, 1:-1]
    (cut,) = percentiles_of(histogram_u8(g), (90,))
    flat = cv2.compare(g, cut, cv2.CMP_LE)
    if not cv2.countNonZero(flat):
        return 0.0
    return float(np.sqrt(np.pi / 2.0) * cv2.mean(r, mask=flat)[0] / 6.0)


def luma_stats(y: np.ndarray) -> tuple[float, float, float, float]:
    """(RMS contrast = std of luma, p99 − p1 range, mean, p98 − p2 spread), all as fractions of 255
    (0..0.5, 0..1, 0..1, 0..1), from one histogram."""
    hist = histogram_u8(y)
    n = max(1.0, float(hist.sum()))
    levels = np.arange(256, dtype=np.float64)
    mean = float(hist @ levels) / n
    std = float(np.sqrt(max(0.0, float(hist @ levels**2) / n - mean * mean)))
    p1, p2, p98, p99 = percentiles_of(hist, (1, 2, 98, 99))
    return std / 255.0, (p99 - p1) / 255.0, mean / 255.0, (p98 - p2) / 255.0


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk (2003) M on 0..255 RGB: √(σ_rg² + σ_yb²) + 0.3·√(μ_rg² + μ_yb²), rg = R − G,
    yb = (R + G)/2 − B. 0 for grey; they rate ~15 slightly, ~33 moderately, ~59 quite, ~82 highly colourful.
    Exact in int16 (2·yb = R + G − 2B)."""
    r, g, b = cv2.split(np.ascontiguousarray(rgb))
    rg = cv2.subtract(r, g, dtype=cv2.CV_16S)
    yb2 = cv2.subtract(cv2.add(r, g, dtype=cv2.CV_16S), cv2.add(b, b, dtype=cv2.CV_16S), dtype=cv2.CV_16S)
    m_rg, s_rg = cv2.meanStdDev(rg)
    m_yb, s_yb = cv2.meanStdDev(yb2)
    return float(np.hypot(s_rg[0, 0], s_yb[0, 0] / 2) + 0.3 * np.hypot(m_rg[0, 0], m_yb[0, 0] / 2))


_LINE_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))


def line_density(y: np.ndarray, line_contrast: float) -> float:
    """Share (0..1) of pixels on dark thin strokes: black-hat (closing − picture) with a 7-px disc, i.e.
    pixels at least ``line_contrast`` levels darker than what closes over them — strokes up to ~6 px wide
    at 512 px. Wide dark areas (bars, shadows) are not strokes. The caller raises the threshold to 4σ of
    the measured noise so that grain does not read as ink."""
    bh = cv2.morphologyEx(y, cv2.MORPH_BLACKHAT, _LINE_KERNEL)
    return float(np.count_nonzero(bh >= line_contrast)) / max(1, bh.size)


def frame_metrics(rgb: np.ndarray, scale: tuple[float, float], params: Mapping[str, Any]) -> dict[str, Any]:
    """Every metric of one keyframe picture; ``scale`` = (sx, sy) picture → source pixels."""
    y = luma_of(rgb)
    h, w = y.shape
    top, bottom, left, right = black_bars(y, int(params["black_level"]))
    yc = y[top : h - bottom, left : w - right]
    rgbc = rgb[top : h - bottom, left : w - right]
    contrast, rng, mean, spread = luma_stats(yc)
    blank = spread * 255.0 <= params["blank_range"]
    sx, sy = scale
    block = grid_block(sx, sy)
    noise = noise_sigma(yc)
    return {
        "sharpness": sharpness(yc),
        "blockiness": blockiness(y, block / sx, block / sy) if block else None,
        "noise": noise,
        "contrast": contrast, "luma_range": rng, "brightness": mean,
        "colourfulness": colourfulness(rgbc),
        "line_density": line_density(yc, max(float(params["line_contrast"]), 4.0 * noise)),
        "letterbox": (top + bottom) / h, "pillarbox": (left + right) / w,
        "black": bool(blank and mean * 255.0 <= params["black_level"]),
        "blank": bool(blank),
    }


def weighted_mean(values: Sequence[float | None], weights: Sequence[float]) -> float | None:
    """Mean of the non-null values weighted by ``weights``; None when none is known."""
    pairs = [(v, w) for v, w in zip(values, weights) if v is not None and np.isfinite(v)]
    total = sum(w for _, w in pairs)
    if not pairs or total <= 0:
        return None
    return float(sum(v * w for v, w in pairs) / total)


def clip_summary(frames: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-clip row from per-keyframe rows: each metric's mean weighted by hold (how long the drawing is on
    screen; hold ≤ 0 counts 1), black/blank as the held share of black/blank keyframes."""
    weights = [float(max(1, r.get("hold") or 1)) for r in frames]
    out: dict[str, Any] = {m: weighted_mean([r[m] for r in frames], weights) for m in FRAME_METRICS}
    out["black_share"] = weighted_mean([float(r["black"]) for r in frames], weights)
    out["blank_share"] = weighted_mean([float(r["blank"]) for r in frames], weights)
    out["aesthetic"] = weighted_mean([r.get("aesthetic") for r in frames], weights)
    out["keyframes"] = len(frames)
    return out


# --------------------------------------------------------------------------------------------- aesthetic
def image_tensor(rgb: np.ndarray, size: int, mean: Sequence[float], std: Sequence[float],
                 resize: str) -> np.ndarray:
    """CHW float32 input: ``crop`` = shorter side to ``size`` then centre crop (CLIP's preprocessing),
    ``stretch`` = straight to size×size; then /255 and per-channel (x − mean) / std."""
    h, w = rgb.shape[:2]
    if resize == "crop":
        s = size / min(h, w)
        nw, nh = max(size, round(w * s)), max(size, round(h * s))
        img = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
        x0, y0 = (nw - size) // 2, (nh - size) // 2
        img = img[y0 : y0 + size, x0 : x0 + size]
    else:
        img = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
    x = img.astype(np.float32) / 255.0
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


class AestheticHead:
    """An ONNX model mapping a batch (images NCHW, or embeddings N×D) to one score per row."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        first = inp.shape[0] if inp.shape else None
        self.fixed_batch = first if isinstance(first, int) and first > 0 else 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0, np.float64)
        step = self.fixed_batch or 16
        out = []
        for i in range(0, len(x), step):
            chunk = x[i : i + step]
            pad = step - len(chunk) if self.fixed_batch else 0
            if pad:
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], pad, axis=0)])
            y = np.asarray(self.session.run(None, {self.input_name: chunk})[0], np.float64)
            y = y.reshape(len(chunk), -1)
            if y.shape[1] != 1:
                raise ValueError(f"the aesthetic model returns {y.shape[1]} values per input; one score expected")
            out.append(y[: len(chunk) - pad, 0])
        return np.concatenate(out)


def image_vectors(item: ClipItem, model: str) -> tuple[dict[int, np.ndarray], np.ndarray | None]:
    """The ``embeddings`` annotator's image vectors of a clip: ({frame: vector}, clip vector or None).
    ``model`` picks one embedding model when the table holds several (then it must be given)."""
    rows = [r for table in item.prior.get("embeddings", {}).values() for r in table
            if r.get("kind", "image") == "image" and r.get("vector") is not None]
    models = sorted({str(r.get("model", "")) for r in rows})
    if model:
        rows = [r for r in rows if str(r.get("model", "")) == model]
    elif len(models) > 1:
        raise UsageError(f"the embeddings table has image vectors of several models ({', '.join(models)}); "
                         "choose one with annotate.quality.embedding_model")
    frames = {int(r["frame"]): np.asarray(r["vector"], np.float32) for r in rows if int(r.get("frame", -1)) >= 0}
    clip = next((np.asarray(r["vector"], np.float32) for r in rows if int(r.get("frame", -1)) < 0), None)
    return frames, clip


# --------------------------------------------------------------------------------------------- annotator
class QualityAnnotator(Annotator):
    """Classical per-keyframe quality metrics (+ an optional ONNX aesthetic score), per clip by hold."""

    name = "quality"
    version = "1"
    resources: ClassVar[Resources] = Resources(cpus=1.0, memory_mb=512)
    batch_size: ClassVar[int] = 8
    tables: ClassVar[dict[str, TableSpec]] = {
        "quality": TableSpec(QUALITY, ("clip_id",)),
        "quality_frames": TableSpec(QUALITY_FRAMES, ("clip_id", "frame")),
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        if p["aesthetic_input"] not in ("image", "embedding"):
            raise UsageError(f"annotate.quality.aesthetic_input = {p['aesthetic_input']!r}: image or embedding")
        if p["aesthetic_resize"] not in ("crop", "stretch"):
            raise UsageError(f"annotate.quality.aesthetic_resize = {p['aesthetic_resize']!r}: crop or stretch")
        if len(p["aesthetic_mean"]) != 3 or len(p["aesthetic_std"]) != 3 or min(p["aesthetic_std"]) <= 0:
            raise UsageError("annotate.quality.aesthetic_mean / aesthetic_std: three numbers (std > 0)")
        if p["aesthetic_model"] and p["aesthetic_input"] == "embedding":
            # instance-level: the runner then loads the stored rows of an earlier ``embeddings`` run
            self.requires = ("embeddings",)  # type: ignore[misc]
        self.head: AestheticHead | None = None
        self.model_id = ""

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {
            "black_level": 32,  # luma ≤ this (0-255) is black: bars and black frames
            "blank_range": 16,  # p98 − p2 of luma ≤ this (levels): a nearly uniform (blank) keyframe
            "line_contrast": 40,  # levels darker than the surroundings for a line-art pixel
            "aesthetic_model": "",  # ONNX file: one score per image (or per embedding); "" = none
            "aesthetic_input": "image",  # image | embedding (the embeddings annotator's image vectors)
            "aesthetic_size": 224,
            "aesthetic_mean": list(CLIP_MEAN),
            "aesthetic_std": list(CLIP_STD),
            "aesthetic_resize": "crop",  # crop (shorter side, centre crop) | stretch
            "aesthetic_max_keyframes": 8,  # evenly spaced keyframes scored per clip (0 = all)
            "embedding_model": "",  # which embedding model's vectors, when several are stored
        }

    def setup(self) -> None:
        path = self.params["aesthetic_model"]
        if not path:
            return
        p = Path(path).expanduser()
        if not p.is_file():
            raise MissingModelError(f"annotate.quality.aesthetic_model = {path!r}: no such ONNX file")
        try:
            self.head = AestheticHead(p)
        except ImportError as exc:
            from toonset.pipeline.stage import MissingExtraError

            raise MissingExtraError("the quality annotator's aesthetic model", "onnx") from exc
        self.model_id = f"{p.name}@{sha256_file(str(p))[:12]}"

    def model_files(self) -> list[Path]:
        return [Path(self.params["aesthetic_model"]).expanduser()] if self.params["aesthetic_model"] else []

    def annotate(self, batch: list[ClipItem]) -> Annotations:
        out = Annotations()
        for item in batch:
            frames = []
            for frame, hold in item.keyframes:
                row = frame_metrics(item.pictures[frame], item.picture_scale(frame), self.params)
                frames.append({"clip_id": item.clip_id, "frame": frame, "hold": hold, **row, "aesthetic": None})
            clip_score = self._aesthetic(item, frames)
            summary = clip_summary(frames)
            if clip_score is not None:
                summary["aesthetic"] = clip_score
            for r in frames:
                out.add("quality_frames", r)
            out.add("quality", {"clip_id": item.clip_id, **summary, "aesthetic_model": self.model_id})
            out.coverage[item.clip_id] = len(frames)
        return out

    def _aesthetic(self, item: ClipItem, frames: list[dict[str, Any]]) -> float | None:
        """Fill ``aesthetic`` of the scored keyframe rows; returns a clip score only when the clip has no
        per-keyframe vectors but a clip vector (embedding input)."""
        if self.head is None or not frames:
            return None
        p = self.params
        if p["aesthetic_input"] == "image":
            chosen = evenly_spaced(frames, int(p["aesthetic_max_keyframes"]))
            x = np.stack([image_tensor(item.pictures[r["frame"]], int(p["aesthetic_size"]), p["aesthetic_mean"],
                                       p["aesthetic_std"], p["aesthetic_resize"]) for r in chosen])
            for r, s in zip(chosen, self.head(x)):
                r["aesthetic"] = float(s)
            return None
        vectors, clip_vector = image_vectors(item, p["embedding_model"])
        scored = [r for r in frames if r["frame"] in vectors]
        if scored:
            for r, s in zip(scored, self.head(np.stack([vectors[r["frame"]] for r in scored]))):
                r["aesthetic"] = float(s)
            return None
        if clip_vector is not None:
            return float(self.head(clip_vector[None, :])[0])
        return None
