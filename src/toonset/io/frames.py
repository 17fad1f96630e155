"""``DecodedFrame``: one decoded picture as the analyzers see it.

Every frame carries a small upright luma image (``analysis_width`` wide) and a tiny U/V chroma pair, made
cheaply from the decoder's planes. Full-resolution RGB, and frames for re-encoding, are produced lazily from
the decoder frame only when a consumer asks, so analysis-only runs never pay for colour conversion.
"""

from __future__ import annotations

import cv2
import numpy as np

PLANAR_YUV = frozenset(
    ["yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv411p", "yuv410p", "yuv440p", "yuvj440p"]
)


def analysis_size(width: int, height: int, analysis_width: int) -> tuple[int, int]:
    """(w, h) of the analysis image for a display size: fixed width, even height following the aspect."""
    aw = max(16, min(analysis_width, width))
    ah = max(2, round(aw * height / max(1, width) / 2) * 2)
    return aw, ah


def downscale(plane: np.ndarray, w: int, h: int) -> np.ndarray:
    """Shrink a plane to exactly (w, h) cheaply: point-sample large factors down to 2, area-average by
    that integer factor, then a bilinear step to the exact size."""
    H, W = plane.shape[:2]
    k = max(1, min(W // w, H // h))
    if k >= 4:
        s = k // 2  # OpenCV's nearest-neighbour resize: a strided numpy view would be copied first (slower)
        plane = cv2.resize(plane[: H // s * s, : W // s * s], (W // s, H // s), interpolation=cv2.INTER_NEAREST)
        H, W = plane.shape[:2]
        k = max(1, min(W // w, H // h))
    if k > 1:
        plane = cv2.resize(plane[: H // k * k, : W // k * k], (W // k, H // k), interpolation=cv2.INTER_AREA)
    if plane.shape[1] != w or plane.shape[0] != h:
        plane = cv2.resize(plane, (w, h), interpolation=cv2.INTER_LINEAR)
    return plane


def downscale_luma(plane: np.ndarray, w: int, h: int) -> np.ndarray:
    """``downscale`` for the big luma plane. Factors of 4 or more that do not divide evenly (1440x1080 to
    320x240): point-sample straight to (2w, 2h), then average 2x2 — every output pixel still averages four
    samples, and it costs ~40% less than point-sampling, area-averaging and a bilinear fix-up."""
    H, W = plane.shape[:2]
    k = max(1, min(W // w, H // h))
    s = k // 2
    if k >= 4 and (W // s != 2 * w or H // s != 2 * h):
        plane = cv2.resize(plane, (2 * w, 2 * h), interpolation=cv2.INTER_NEAREST)
        return cv2.resize(plane, (w, h), interpolation=cv2.INTER_AREA)
    return downscale(plane, w, h)


def resize_plane(plane: np.ndarray, w: int, h: int) -> np.ndarray:
    """Shrink (or keep) one plane to exactly (w, h) for pictures people look at (clip media, keyframe
    pictures): area-average by the whole factor, then a bilinear step for the rest (under 2x, where bilinear
    does not alias). No point sampling, unlike the analysis ``downscale``; about 3x cheaper than OpenCV's
    area resize at uneven ratios (1280x720 to 512x288: 0.8 ms against 1.7 ms) for 42 dB against it."""
    H, W = plane.shape[:2]
    if (w, h) == (W, H):
        return plane
    k = max(1, min(W // max(1, w), H // max(1, h)))
    if k > 1:
        plane = cv2.resize(plane[: H // k * k, : W // k * k], (W // k, H // k), interpolation=cv2.INTER_AREA)
    if plane.shape[1] != w or plane.shape[0] != h:
        plane = cv2.resize(plane, (w, h), interpolation=cv2.INTER_LINEAR)
    return plane


def plane_array(plane) -> np.ndarray:
    """A zero-copy numpy view of one 8-bit plane of a PyAV frame (without line padding)."""
    arr = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return arr[:, : plane.width]


def frame_rotation(frame) -> int:
    """A PyAV frame's display rotation snapped to 0, 90, 180 or 270 degrees (counter-clockwise)."""
    return round((frame.rotation or 0) / 90.0) * 90 % 360


def upright(arr: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate an image counter-clockwise by ``rotation`` degrees (the display-matrix convention)."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(arr, k)) if k else arr


class DecodedFrame:
    """A decoded frame: index, PTS time, analysis luma/chroma; full-resolution data on request."""

    __slots__ = ("_av", "_bgr", "_i420", "chroma", "compat", "delta", "detail", "index", "luma", "rotation", "still",
                 "time")

    def __init__(
        self,
        index: int,
        time: float,
        luma: np.ndarray,
        chroma: np.ndarray,
        rotation: int = 0,
        av_frame=None,
        bgr: np.ndarray | None = None,
    ) -> None:
        self.index = index
        self.time = time
        self.luma = luma  # (ah, aw) uint8, upright
        self.chroma = chroma  # (2, ch, cw) uint8 U and V, upright
        self.rotation = rotation
        self._av = av_frame
        self._bgr = bgr
        self._i420: tuple[int, int, np.ndarray] | None = None  # the last shrunk planes (shared by consumers)
        self.compat: np.ndarray | None = None  # 64x64 full-range luma for the Sakuga-42M rule, when asked
        self.detail: np.ndarray | None = None  # luma at twice the analysis width, for timing
        self.still = False  # no analysis pixel moved by more than STILL_LEVELS since the previous frame
        self.delta: tuple[float, float] | None = None  # (noise σ, mean |Δ|) against the previous frame

    @property
    def has_pixels(self) -> bool:
        return self._av is not None or self._bgr is not None

    def release(self) -> None:
        """Drop the full-resolution picture (keeps analysis arrays)."""
        self._av = None
        self._bgr = None
        self._i420 = None

    def display_size(self) -> tuple[int, int]:
        if self._bgr is not None:
            return self._bgr.shape[1], self._bgr.shape[0]
        if self._av is None:
            return self.luma.shape[1], self.luma.shape[0]
        w, h = self._av.width, self._av.height
        return (h, w) if self.rotation % 180 else (w, h)

    def rgb(self, max_side: int = 0) -> np.ndarray:
        """Upright RGB (H, W, 3) uint8; downscaled so the longer side is at most ``max_side`` (0 = full)."""
        w, h = self.display_size()
        tw, th = fit_size(w, h, max_side)
        if self._bgr is not None:
            img = self._bgr if (tw, th) == (w, h) else cv2.resize(self._bgr, (tw, th), interpolation=cv2.INTER_AREA)
            return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        if self._av is None:
            raise RuntimeError("frame pixels were released; ask for them while the frame is in flight")
        if self.rotation % 180:
            cw, ch = th, tw
        else:
            cw, ch = tw, th
        arr = self._av.to_ndarray(width=cw, height=ch, format="rgb24", interpolation="AREA")
        return upright(arr, self.rotation)

    def i420(self, width: int, height: int) -> np.ndarray | None:
        """Upright I420 planes of exactly (width, height) (even) stacked as one (1.5·h, w) uint8 array — the
        layout of ``av.VideoFrame.from_ndarray(..., 'yuv420p')`` and ``cv2.COLOR_YUV2BGR_I420`` — made by
        shrinking the decoder's planes with ``resize_plane`` (no colour conversion). None when the decoder
        frame is not limited-range 4:2:0 (the caller converts through swscale instead)."""
        cached = self._i420
        if cached is not None and cached[:2] == (width, height):
            return cached[2]
        f = self._av
        if f is None or f.format.name != "yuv420p":
            return None
        if cached is not None and cached[0] >= width and cached[1] >= height:
            # a larger picture of this frame was already made (clip media): shrink that one, not the source
            return self._from_planes(*split_i420(cached[2], cached[0], cached[1]), width, height, 0)
        rot = self.rotation % 360
        cw, ch = (height, width) if rot % 180 else (width, height)  # the coded-orientation target
        y, u, v = (plane_array(p) for p in f.planes[:3])
        out = self._from_planes(y, u, v, cw, ch, rot)
        self._i420 = (width, height, out)
        return out

    @staticmethod
    def _from_planes(y: np.ndarray, u: np.ndarray, v: np.ndarray, cw: int, ch: int, rot: int) -> np.ndarray:
        ys = upright(resize_plane(y, cw, ch), rot)
        us = upright(resize_plane(u, cw // 2, ch // 2), rot)
        vs = upright(resize_plane(v, cw // 2, ch // 2), rot)
        height, width = ys.shape
        out = np.empty((height * 3 // 2, width), np.uint8)
        out[:height] = ys
        q = (height // 2) * (width // 2)
        flat = out[height:].reshape(-1)
        flat[:q] = us.reshape(-1)
        flat[q:] = vs.reshape(-1)
        return out

    def small_bgr(self, max_side: int) -> np.ndarray:
        """Upright BGR with the longer side at most ``max_side`` (even sizes), for keyframe pictures: from
        4:2:0 planes shrunk before the colour conversion (BT.601), otherwise through ``rgb``."""
        w, h = self.display_size()
        tw, th = fit_size(w, h, max_side)
        if self._bgr is not None:
            return cv2.resize(self._bgr, (tw, th), interpolation=cv2.INTER_AREA) if (tw, th) != (w, h) else self._bgr
        planes = self.i420(tw, th)
        if planes is not None:
            return cv2.cvtColor(planes, cv2.COLOR_YUV2BGR_I420)
        return cv2.cvtColor(self.rgb(max_side), cv2.COLOR_RGB2BGR)

    def video_frame(self, width: int, height: int):
        """An upright yuv420p ``av.VideoFrame`` of exactly (width, height), for re-encoding: the decoder's
        own frame when nothing changes, 4:2:0 planes shrunk by ``resize_plane`` when only the size does,
        swscale for other pixel formats."""
        import av

        f = self._av
        if f is not None and f.format.name == "yuv420p":
            if not self.rotation % 360 and (f.width, f.height) == (width, height):
                return f
            return av.VideoFrame.from_ndarray(self.i420(width, height), format="yuv420p")
        if self._av is not None and not self.rotation % 360:
            return self._av.reformat(width=width, height=height, format="yuv420p", interpolation="AREA")
        if self._bgr is not None:
            src = av.VideoFrame.from_ndarray(np.ascontiguousarray(self._bgr), format="bgr24")
            return src.reformat(width=width, height=height, format="yuv420p", interpolation="AREA")
        rgb = self.rgb(0)
        if (rgb.shape[1], rgb.shape[0]) != (width, height):
            rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        return av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format="yuv420p")


def split_i420(buf: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Y, U, V planes of an I420 buffer made by ``DecodedFrame.i420`` (views, no copy)."""
    flat = buf[height:].reshape(-1)
    q = (height // 2) * (width // 2)
    return buf[:height], flat[:q].reshape(height // 2, width // 2), flat[q:].reshape(height // 2, width // 2)


def fit_size(w: int, h: int, max_side: int) -> tuple[int, int]:
    """Scale (w, h) down so the longer side is ≤ max_side, keeping even dimensions (for yuv420p)."""
    if max_side and max(w, h) > max_side:
        s = max_side / max(w, h)
        w, h = round(w * s), round(h * s)
    return max(2, w - w % 2), max(2, h - h % 2)


def yuv_to_analysis(
    y: np.ndarray, u: np.ndarray | None, v: np.ndarray | None, rotation: int, analysis_width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From full-resolution planes: analysis luma (upright, ``analysis_width`` wide), a small chroma pair
    (a quarter of that), and a detail luma at twice the analysis width (for timing small changes)."""
    coded_h, coded_w = y.shape
    disp_w, disp_h = (coded_h, coded_w) if rotation % 180 else (coded_w, coded_h)
    aw, ah = analysis_size(disp_w, disp_h, analysis_width)
    dw, dh = min(2 * aw, disp_w - disp_w % 2), min(2 * ah, disp_h - disp_h % 2)  # exactly 2x when possible
    cw, ch = max(4, aw // 4), max(2, ah // 4)
    if rotation % 180:
        aw, ah, cw, ch, dw, dh = ah, aw, ch, cw, dh, dw
    detail = downscale_luma(y, dw, dh)
    luma = cv2.resize(detail, (aw, ah), interpolation=cv2.INTER_AREA)
    if u is None or v is None:
        chroma = np.full((2, ch, cw), 128, np.uint8)
    else:
        chroma = np.empty((2, ch, cw), np.uint8)  # filled plane by plane: np.stack costs more than the resizes
        chroma[0] = downscale(u, cw, ch)
        chroma[1] = downscale(v, cw, ch)
    if rotation % 360:
        luma = upright(luma, rotation)
        detail = upright(detail, rotation)
        chroma = np.stack([upright(c, rotation) for c in chroma])
    return luma, chroma, detail


def compat_thumb(y_plane: np.ndarray, full_range: bool) -> np.ndarray:
    """The 64x64 luma Sakuga-42M compared: the whole frame squeezed with bilinear sampling, full range."""
    t = cv2.resize(y_plane, (64, 64), interpolation=cv2.INTER_LINEAR)
    if not full_range:  # expand limited range (16-235) to full, saturating
        t = cv2.convertScaleAbs(t, alpha=255.0 / 219.0, beta=-16.0 * 255.0 / 219.0)
    return t


STILL_LEVELS = 6
STILL_MAX_PIXELS = 2


def is_still(anchor_luma: np.ndarray | None, luma: np.ndarray) -> bool:
    """True when the picture did not change (a held drawing on a clean source): at most two analysis pixels
    differ by more than ``STILL_LEVELS`` from ``anchor_luma``, the last frame that was *not* still (so slow
    drifts such as a long dissolve add up and are never skipped). Analyzers use it to skip work."""
    if anchor_luma is None or anchor_luma.shape != luma.shape:
        return False
    _, hot = cv2.threshold(cv2.absdiff(anchor_luma, luma), STILL_LEVELS, 255, cv2.THRESH_BINARY)
    return cv2.countNonZero(hot) <= STILL_MAX_PIXELS


_LEVELS = np.arange(256, dtype=np.float64)


def noise_and_mad(prev: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """(robust σ = 1.4826 · median |Δ|, mean |Δ|) of a frame pair, from one 256-bin histogram.

    The median is taken over all pixels, so it measures grain and compression noise even when part of the
    picture moves. The readers compute it once per frame (``DecodedFrame.delta``) for every analyzer."""
    noise, mad, _hot = diff_stats(prev, cur)
    return noise, mad


def diff_stats(prev: np.ndarray, cur: np.ndarray) -> tuple[float, float, int]:
    """``noise_and_mad`` plus the number of pixels that changed by more than ``STILL_LEVELS`` (what
    ``is_still`` counts), all from one difference image and its histogram."""
    diff = cv2.absdiff(prev, cur)
    hist = cv2.calcHist([diff], [0], None, [256], [0, 256]).ravel()
    cumulative = np.cumsum(hist)
    median = int(np.searchsorted(cumulative, diff.size / 2.0))
    hot = int(diff.size - cumulative[STILL_LEVELS])
    return 1.4826 * median, float(np.dot(hist, _LEVELS) / max(1, diff.size)), hot


def frame_delta(prev_luma: np.ndarray | None, luma: np.ndarray) -> tuple[float, float] | None:
    """``noise_and_mad`` against the previous decoded frame (None for the first or after a size change)."""
    if prev_luma is None or prev_luma.shape != luma.shape:
        return None
    return noise_and_mad(prev_luma, luma)
