"""Pure functions over analysis images (numpy in, numbers out). No I/O, no state.

All images are small uint8 arrays made by the decode pass: ``luma`` (about 160 px wide) and ``chroma``
(U and V about 40 px wide). Distances are normalised to [0, 1] unless stated otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import cv2
import numpy as np

_K3 = np.ones((3, 3), np.uint8)


def small_luma(luma: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """Luma at chroma resolution (uint8), the unit of the blend and flash tests."""
    h, w = chroma.shape[1:]
    return cv2.resize(luma, (w, h), interpolation=cv2.INTER_AREA)


def colour_hist(small: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """Joint 8x8x8 Y/U/V histogram at chroma resolution, normalised to sum 1."""
    y = small if small.dtype == np.uint8 else np.clip(small, 0, 255).astype(np.uint8)
    # bin (y >> 5) * 64 + (u >> 5) * 8 + (v >> 5), counted in one OpenCV call
    h = cv2.calcHist([y, chroma[0], chroma[1]], [0, 1, 2], None, [8, 8, 8], [0, 256, 0, 256, 0, 256]).ravel()
    return h / max(1.0, float(h.sum()))


def luma_hist(luma: np.ndarray, bins: int = 32) -> np.ndarray:
    """A fine luma histogram, each bin spread over its neighbours (grain and flicker move grey levels a
    little), normalised to sum 1: what tells grey scenes apart when there is no colour to compare."""
    h = cv2.calcHist([luma], [0], None, [bins], [0, 256]).ravel()
    h = np.convolve(h, (0.25, 0.5, 0.25), mode="same")
    return h / max(1.0, float(h.sum()))


def saturation(chroma: np.ndarray) -> float:
    """Mean distance of U and V from grey (128): 0 for a monochrome picture."""
    flat = chroma.reshape(-1, chroma.shape[-1])
    return float(cv2.mean(cv2.absdiff(flat, np.full_like(flat, 128)))[0])


def hist_distance(h1: np.ndarray, h2: np.ndarray) -> float:
    """1 - histogram intersection: 0 for the same colours, 1 for disjoint palettes."""
    return float(1.0 - np.minimum(h1, h2).sum())


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(cv2.absdiff(a, b).mean())


from toonset.io.frames import noise_and_mad  # noqa: E402,F401 - a frame-pair statistic, re-exported


def tile_std(img: np.ndarray, block: int = 16) -> np.ndarray:
    """Standard deviation of each ``block``x``block`` tile (grid from the top-left corner), float32.

    From the tiles' means of x and x² (OpenCV's exact integer-factor area resize, in float64): ~3x faster
    than numpy's two-pass std over a reshaped view, equal to it within 1e-5."""
    h, w = img.shape
    gh, gw = h // block, w // block
    if not gh or not gw:
        return np.zeros((gh, gw), np.float32)
    x = img[: gh * block, : gw * block].astype(np.float64)
    mean = cv2.resize(x, (gw, gh), interpolation=cv2.INTER_AREA)
    mean_sq = cv2.resize(x * x, (gw, gh), interpolation=cv2.INTER_AREA)
    return np.sqrt(np.maximum(mean_sq - mean * mean, 0.0)).astype(np.float32)


def textured_tiles(stds: np.ndarray, min_texture: float, max_tiles: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid rows and columns of the tiles whose std reaches ``min_texture``: an even sample of at most
    ``max_tiles`` of them (as telling as all of them, at a bounded cost)."""
    ys, xs = np.nonzero(stds >= min_texture)
    if len(ys) > max_tiles:
        pick = np.linspace(0, len(ys) - 1, max_tiles).astype(int)
        ys, xs = ys[pick], xs[pick]
    return ys, xs


class BlockMatch(NamedTuple):
    share: float  # of the textured tiles that found a match (a bound when not ``exact``)
    tiles: int  # textured tiles
    exact: bool  # False when the search stopped early (see ``block_match``'s ``settled``)


def block_match(prev: np.ndarray, cur: np.ndarray, block: int = 16, radius: int = 10,
                noise: float = 0.0, cur_std: np.ndarray | None = None,
                max_tiles: int = 32, settled: Callable[[float, float, int], bool] | None = None,
                ) -> BlockMatch:
    """Motion-compensated similarity of ``cur`` to ``prev``.

    Each textured ``block``x``block`` tile of ``cur`` (at most ``max_tiles``, evenly sampled) searches
    ``prev`` within ±``radius`` px. Returns a ``BlockMatch``: the share of tiles that found a match and the
    number of textured tiles. A tile is textured when its std exceeds max(6, 2·noise) and matched when its best residual is below
    max(10, 2.5·noise) — so film grain neither creates texture nor breaks matches. A camera move or a new
    drawing over a kept background leaves most tiles matched; a cut leaves almost none.

    ``settled(lowest, highest, tiles)``, when given, is asked after each tile with the range the final share
    can still take; once it answers True the search stops and returns the end of that range nearer to what
    was seen, with ``exact=False`` (a caller that only compares the result with a threshold gets the same
    answer for less work). Tiles are then visited spread over the picture so the first ones are
    representative.
    """
    min_texture = max(6.0, 2.0 * noise)
    max_residual = max(10.0, 2.5 * noise)
    stds = tile_std(cur, block) if cur_std is None else cur_std
    padded = cv2.copyMakeBorder(prev, radius, radius, radius, radius, cv2.BORDER_REPLICATE)
    ys, xs = textured_tiles(stds, min_texture, max_tiles)
    n = len(ys)
    if settled is not None and n > 1:
        order = _spread_order(n)
        ys, xs = ys[order], xs[order]
    matched = 0
    for k, (gy, gx) in enumerate(zip(ys, xs), start=1):
        y, x = int(gy) * block, int(gx) * block
        tile = cur[y : y + block, x : x + block]
        window = padded[y : y + block + 2 * radius, x : x + block + 2 * radius]
        best = cv2.minMaxLoc(cv2.matchTemplate(window, tile, cv2.TM_SQDIFF))[0]
        matched += bool(np.sqrt(max(best, 0.0) / (block * block)) < max_residual)
        if settled is not None and k < n:
            low, high = matched / n, (matched + n - k) / n
            if settled(low, high, n):
                share = high if 2 * matched >= k else low
                return BlockMatch(share, n, False)
    if not n:
        return BlockMatch(1.0, 0, True)
    return BlockMatch(matched / n, n, True)


def structure_match(prev: np.ndarray, cur: np.ndarray, block: int = 16, radius: int = 10, min_texture: float = 6.0,
                    min_ncc: float = 0.8, max_tiles: int = 32) -> BlockMatch:
    """Like ``block_match`` but blind to light: a tile matches when its best normalised cross-correlation
    within ±``radius`` px reaches ``min_ncc`` (invariant to gain and offset). A tint, a flash of firelight,
    a shot that darkens keep their structure; a cut does not. Only tiles textured in ``cur`` (std ≥
    ``min_texture``) count; with fewer than 6 of them it says nothing (``tiles`` < 6)."""
    padded = cv2.copyMakeBorder(prev, radius, radius, radius, radius, cv2.BORDER_REPLICATE)
    ys, xs = textured_tiles(tile_std(cur, block), min_texture, max_tiles)
    matched = 0
    for gy, gx in zip(ys, xs):
        y, x = int(gy) * block, int(gx) * block
        tile = cur[y : y + block, x : x + block]
        window = padded[y : y + block + 2 * radius, x : x + block + 2 * radius]
        matched += cv2.minMaxLoc(cv2.matchTemplate(window, tile, cv2.TM_CCOEFF_NORMED))[1] >= min_ncc
    n = len(ys)
    return BlockMatch(matched / n if n else 1.0, n, True)


def _spread_order(n: int) -> np.ndarray:
    """0..n-1 in an order that spreads over the range from the start (a golden-ratio sequence)."""
    return np.argsort((np.arange(n) * 0.6180339887) % 1.0, kind="stable")


def tolerant_change(prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Per-pixel change that ignores ±1 px shifts (film weave, line jitter): int16 array ≥ 0.

    A pixel of ``cur`` counts only by how far it lies outside the min/max of its 3x3 neighbourhood in
    ``prev`` (and symmetrically), so a whole-frame 1 px jitter gives ~0 while a moved line does not.
    """
    p = prev.astype(np.int16)
    c = cur.astype(np.int16)
    d1 = np.maximum(c - cv2.dilate(prev, _K3), cv2.erode(prev, _K3) - c)
    d2 = np.maximum(p - cv2.dilate(cur, _K3), cv2.erode(cur, _K3) - p)
    return np.maximum(np.maximum(d1, d2), 0)


def blend_residual(a: np.ndarray, mid: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """How well ``mid`` is a mix (1-α)·a + α·b. Returns (residual ratio, α, ||b - a|| RMS).

    The residual ratio is ||mid - blend|| / ||b - a||: near 0 inside dissolves and fades, large for motion
    (an average of two poses is a ghost, not the middle pose).
    """
    d = b - a
    norm2 = float((d * d).sum())
    if norm2 <= 1e-6:
        return 1.0, 0.0, 0.0
    m = mid - a
    alpha = float((m * d).sum() / norm2)
    resid = m - alpha * d
    return float(np.sqrt((resid * resid).sum() / norm2)), alpha, float(np.sqrt(norm2 / d.size))


def blend_residuals(a: np.ndarray, mid: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``blend_residual`` for a stack of (a, b) pairs around one ``mid`` at once: (ratios, alphas, rms)."""
    k = a.shape[0]
    a = a.reshape(k, -1).astype(np.float32)
    d = b.reshape(k, -1).astype(np.float32) - a
    m = mid.reshape(1, -1).astype(np.float32) - a
    norm2 = np.einsum("ij,ij->i", d, d)
    safe = np.maximum(norm2, 1e-6)
    alpha = np.einsum("ij,ij->i", m, d) / safe
    resid = m - alpha[:, None] * d
    ratio = np.sqrt(np.einsum("ij,ij->i", resid, resid) / safe)
    flat = norm2 <= 1e-6
    ratio[flat], alpha[flat] = 1.0, 0.0
    return ratio, alpha, np.sqrt(norm2 / d.shape[1])


def flatness(small: np.ndarray) -> float:
    """Standard deviation of a small luma image (low for black, white or uniform frames)."""
    return float(small.std())


class SsimStats:
    """The per-image half of SSIM (means and variances under the window), so a sequence of comparisons
    blurs each image once instead of twice."""

    __slots__ = ("mu", "sq", "var", "x")

    def __init__(self, img: np.ndarray) -> None:
        self.x = img.astype(np.float32)
        self.mu = _box7(self.x)
        self.sq = self.mu * self.mu
        self.var = _COV_NORM * (_box7(self.x * self.x) - self.sq)


_C1, _C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
_COV_NORM = 49.0 / 48.0


def _box7(z: np.ndarray) -> np.ndarray:
    return cv2.blur(z, (7, 7), borderType=cv2.BORDER_REFLECT)


def ssim_stats(a: SsimStats, b: SsimStats) -> float:
    """Mean SSIM from two images' ``SsimStats`` (the same value as ``ssim64``)."""
    cov = _COV_NORM * (_box7(a.x * b.x) - a.mu * b.mu)
    num = (2 * a.mu * b.mu + _C1) * (2 * cov + _C2)
    den = (a.sq + b.sq + _C1) * (a.var + b.var + _C2)
    return float((num / den)[3:-3, 3:-3].mean())


def ssim64(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two small luma images exactly as ``skimage.metrics.structural_similarity`` computes it
    with its defaults (7x7 uniform window, sample covariance, data range 255): the rule Sakuga-42M used."""
    return ssim_stats(SsimStats(a), SsimStats(b))
