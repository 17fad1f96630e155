"""Coherent local motion between two frames: a per-tile Lucas–Kanade significance test.

Smooth continuous motion (3DCG on ones, a slow yawn, a character drifting under a camera move) changes
each pixel by less than the jitter-tolerant difference test of ``timing`` can see, yet the change is
*structured*: it is explained by the image gradient times a small displacement (the optical-flow
constraint ``Δ ≈ -∇I · v``). Grain, compression noise and exposure flicker are not: they are uncorrelated
with the gradient (flicker is a constant, removed with the tile mean).

For each tile the least-squares displacement ``v`` is fitted to the frame difference and the energy it
explains, ``E = bᵀ A⁻¹ b``, is compared with the unexplained rest by an F statistic (2 and n-3 degrees
of freedom). Global motion (gate weave, a pan: the median tile displacement) is removed first, so only
motion *inside* the picture counts. A tile moves when the fit is significant (``F ≥ f_min``) and
visible (explained RMS change ≥ ``rms_min`` grey levels). Pure numpy/OpenCV, no state.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

TILE = 16  # pixels of the timing's detail luma (about 320 px wide)
F_MIN = 100.0  # far beyond any F(2, n-3) quantile that noise reaches: film grain is spatially correlated
RMS_MIN = 1.0  # grey levels of explained change per pixel


class LocalMotion(NamedTuple):
    moving: int  # tiles whose own motion (relative to the global one) is significant and visible
    tiles: int  # tiles examined
    global_dx: float  # median tile displacement (px, the global motion that was removed)
    global_dy: float
    speed: np.ndarray  # per tile: displacement against the global motion (px; 0 where not textured)
    mask: np.ndarray  # per tile: moving (bool)


def local_motion(prev: np.ndarray, cur: np.ndarray, tile: int = TILE, f_min: float = F_MIN,
                 rms_min: float = RMS_MIN) -> LocalMotion:
    """Tiles of ``cur`` (uint8 or float32 luma, same shape as ``prev``) that moved against ``prev``,
    beyond the picture's global motion. Both frames should be lightly blurred (timing's 3x3 box)."""
    h, w = prev.shape
    gh, gw = h // tile, w // tile
    if not gh or not gw:
        return LocalMotion(0, 0, 0.0, 0.0, np.zeros(0), np.zeros(0, bool))
    p = prev[: gh * tile, : gw * tile].astype(np.float32)
    c = cur[: gh * tile, : gw * tile].astype(np.float32)
    mid = cv2.addWeighted(p, 0.5, c, 0.5, 0.0)
    gx = cv2.Sobel(mid, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    gy = cv2.Sobel(mid, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    d = cv2.subtract(c, p)
    planes = (gx, gy, d, cv2.multiply(gx, gx), cv2.multiply(gy, gy), cv2.multiply(gx, gy),
              cv2.multiply(gx, d), cv2.multiply(gy, d), cv2.multiply(d, d))
    # tile means: OpenCV's area resize by an integer factor, one plane at a time (it takes ≤ 4 channels)
    m = np.stack([cv2.resize(x, (gw, gh), interpolation=cv2.INTER_AREA).ravel() for x in planes], 1)
    m = m.astype(np.float64)
    n = float(tile * tile)
    mx, my, md = m[:, 0], m[:, 1], m[:, 2]
    sxx = (m[:, 3] - mx * mx) * n  # centred sums: a constant change (flicker) explains nothing
    syy = (m[:, 4] - my * my) * n
    sxy = (m[:, 5] - mx * my) * n
    sxd = (m[:, 6] - mx * md) * n
    syd = (m[:, 7] - my * md) * n
    sdd = np.maximum((m[:, 8] - md * md) * n, 0.0)
    det = sxx * syy - sxy * sxy
    textured = det > 1e-3 * max(1.0, float(np.median(det)))
    if not textured.any():
        return LocalMotion(0, int(m.shape[0]), 0.0, 0.0, np.zeros(m.shape[0]), np.zeros(m.shape[0], bool))
    safe = np.where(textured, det, 1.0)
    vx = -(syy * sxd - sxy * syd) / safe  # Δ ≈ -(gx·vx + gy·vy)  →  v = -A⁻¹ b
    vy = -(sxx * syd - sxy * sxd) / safe
    gdx, gdy = float(np.median(vx[textured])), float(np.median(vy[textured]))
    bx = sxd + sxx * gdx + sxy * gdy  # what is left of b once the global motion is accounted for
    by = syd + sxy * gdx + syy * gdy
    explained = np.where(textured, (syy * bx * bx - 2 * sxy * bx * by + sxx * by * by) / safe, 0.0)
    explained = np.clip(explained, 0.0, None)
    rest = np.maximum(sdd - explained, 1e-6)
    f = (explained / 2.0) / (rest / (n - 3.0))
    moving = textured & (f >= f_min) & (explained >= rms_min * rms_min * n)
    speed = np.where(textured, np.hypot(vx - gdx, vy - gdy), 0.0)
    return LocalMotion(int(moving.sum()), int(m.shape[0]), gdx, gdy, speed, moving)
