"""Classical shot-boundary detection that understands hand-drawn animation.

The detector is *online*: frames are pushed one by one and boundaries become final a bounded number of
frames later (``latency``), so the build can route frames into clips while decoding, in one pass.

Method (see ``docs/shots.md``):

1. **Candidates** — a frame whose luma difference or colour-histogram distance to the previous frame
   stands out against the recent noise level (so film grain and compression noise do not trigger).
2. **Is it another scene?** — motion-compensated block matching (each textured 16x16 tile of the new
   frame searches the previous one within ±10 px) plus the joint YUV histogram distance give a *cut
   strength*. A new drawing over a kept background, a pan, or a camera jump keep many tiles matched or
   the palette; a cut changes both.
3. **Context** — a frame that only moderately looks like a cut is not one when the changes just after
   it are as large (a fast, dynamic shot), so the first new drawing after a long hold does not split.
4. **Flashes** — when the frame up to ``max_flash_frames`` later is the same scene as the frame before,
   the frames between are impact/flash frames and do not split, unless they are a normal-looking other
   scene (then they are a genuine short shot: two cuts, the second one a real change out of it). An effect
   that covers the shot and clears within 12 frames, with no cut-like step on the way, is no cut either.
5. **Gradual transitions** — frames that are a linear mix of frames on either side, between two different
   scenes (checked again on the frames around the whole run), form dissolves; mixes towards a uniform
   frame form fades (fade-out, black, fade-in is one fade).
6. **Dips to black** — a cut into at most 12 blank frames and a cut out of them are one fade; so are up
   to 12 blank frames opening or ending the video.
7. **Excursions** — when the scene before a candidate shows again within a second and no steady picture of
   another scene stands between, the shot was never left (occlusion sweeps, impact runs, smears).
8. **Light** — a change that keeps the picture's structure, matched blind to gain and offset, is a change
   of light (tints, firelight, a shot darkening), unless the contrast falls step after step (a fade).
9. **Colourless frames** are compared by a fine grey-level histogram instead of the colour one.

Frame windows are stated at 24 fps and scale with the video's rate. Every post-filter has a name in
``RULES`` and can be switched off (``ShotsConfig.rules_off``) to measure what it is worth.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from toonset.analyze import features as F
from toonset.analyze.series import FrameSeries, RecentValues
from toonset.config import ShotsConfig
from toonset.io.frames import DecodedFrame

BLEND_STEPS = (1, 2, 3, 4, 6, 8)
# frame windows below are at 24 fps; ``ShotDetector`` scales them to the video's rate
CONTEXT_FRAMES = 12
RETURN_WINDOW = 48  # frames back to look for the picture an effect covered
RETURN_TRIES = 6
DIP_FRAMES = 12  # at most this many uniform frames between two cuts are a dip to black, not a shot
EFFECT_FRAMES = 12  # frames ahead in which a covered picture may clear again (within the cut lookahead)
RUN_GAP = 2  # cuts this close (in frames) in a run of three or more form one gradual transition
RUN_KINDS = {"cuts-fade": "fade", "cuts-dissolve": "dissolve"}  # such a run while it waits to be emitted
RUN_SPAN_MAX = 12  # frames: a run stops growing here (it holds frames back; see ``latency``)

# The post-filters of the classical detector, each one switchable for ablation (``ShotsConfig.rules_off``)
RULES = {
    "flash": "frames before the scene comes back within max_flash_frames are impact frames, or a short shot",
    "leap": "a short shot needs a second cut out of it (a leap at the camera over one background is none)",
    "continues": "a frame that returns to a picture seen shortly before, with no cut since, is no cut",
    "clears": "an effect that covers the shot and clears with no cut-like step is no cut",
    "leader": "blank frames opening the video are a fade in, not a shot",
    "dip": "a cut into a few blank frames and a cut out of them are one fade (a dip to black)",
    "context": "a borderline change in a shot that changes as much around it is motion, not a cut",
    "runs": "three or more cuts in quick succession are one gradual transition",
    "blend": "frames that mix the frames around them form fades and dissolves",
    "fog": "a dissolve needs another scene after it (fog drifting over one shot is none)",
    "light": "a change that keeps the picture's structure (matched blind to gain and offset) is a change of light",
    "mono": "two colourless frames are compared by a fine grey-level histogram instead of the colour one",
    "return": "the scene before comes back within a second with no steady picture of another scene between: "
              "an occlusion, impact run, smear or effect, not a cut",
}

EXCURSION_SECONDS = 1.0  # how long an occlusion, impact run or effect may hide the shot and still return
SAME_SCENE = 0.4  # cut strength below which two frames show one scene
MONO_SAT = 1.0  # mean chroma distance from grey below which a frame counts as colourless
SAME_STRUCTURE = 0.7  # share of textured tiles matched blind to light that makes two frames one picture
STEADY = 0.35  # cut strength below which two neighbouring frames show one steady picture


def unknown_rules(names: list[str]) -> list[str]:
    """The names in ``names`` that are no rule of ``RULES``, sorted."""
    return sorted(set(names) - set(RULES))


@dataclass
class Boundary:
    """A shot boundary: frames [start, end) belong to no shot (empty for a cut); ``end`` starts a shot."""

    kind: str  # cut | fade | dissolve
    start: int
    end: int
    strength: float = 1.0


@dataclass
class _Frame:
    index: int
    luma: np.ndarray
    small: np.ndarray
    chroma: np.ndarray
    hist: np.ndarray
    mean: float
    std: float
    sat: float
    # made only when a frame takes part in block matching (see ``ShotDetector._soft``):
    soft: np.ndarray | None = None  # blurred luma (sub-pixel shifts and grain do not break matches)
    soft_std: np.ndarray | None = None  # std of each 16x16 tile of ``soft``
    lhist: np.ndarray | None = None  # fine luma histogram of a colourless frame (see ``ShotDetector._hist``)


BASE_RADIUS = 10  # analysis pixels (of ~160) a tile may move between two frames at film rates


def search_radius(fps: float | None) -> int:
    """Block-matching search radius for a frame rate: motion between two frames grows as the rate drops
    (a 10 fps GIF of 24 fps animation moves 2.4x as far per frame), so below 20 fps the radius grows with
    24 / fps, up to 24 px."""
    if not fps or fps >= 20.0:
        return BASE_RADIUS
    return min(24, round(BASE_RADIUS * 24.0 / max(fps, 1.0)))


class ShotDetector:
    """Online classical detector. ``push`` frames, read ``boundaries`` up to ``final_upto``; ``flush`` at the end."""

    name = "shots.classical"
    # 1.2: flash steps are no context evidence; runs of quick cuts become one transition
    # 1.3: a short shot needs a second cut out of it (a leap at the camera is no 2-frame shot); a dissolve
    #      needs another scene after it (fog drifting over one shot is none); an effect that covers the shot
    #      and clears within 12 frames, with no cut-like step, is no cut; a dip to black between two cuts is a
    #      fade, not a black shot
    # 1.4: the scene before a candidate that comes back within a second, with no steady picture of another
    #      scene between, was never left (occlusion sweeps, impact runs, smears, effects); a change that keeps
    #      the structure is a change of light; colourless frames compare grey-level histograms; frame windows
    #      scale with the frame rate
    version = "1.4"

    def __init__(self, cfg: ShotsConfig | None = None, fps: float | None = None) -> None:
        self.cfg = cfg or ShotsConfig()
        unknown = unknown_rules(self.cfg.rules_off)
        if unknown:
            raise ValueError(f"unknown shot rule(s) {', '.join(unknown)}; known: {', '.join(RULES)}")
        self._off = frozenset(self.cfg.rules_off)
        self.search_radius = search_radius(fps)
        # frame windows are set for 24 fps and scale with the rate: an effect or a dip lasts a time, not a
        # number of frames (a 30 fps telecine shows a 3-frame flash on 4 frames, a 10 fps GIF on 1)
        self.rate = (fps or 24.0) / 24.0
        self.context = self._frames(CONTEXT_FRAMES)
        self.return_window = self._frames(RETURN_WINDOW)
        self.dip_frames = self._frames(DIP_FRAMES)
        self.effect_frames = self._frames(EFFECT_FRAMES)
        self.run_span_max = self._frames(RUN_SPAN_MAX)
        self.max_flash = self._frames(self.cfg.max_flash_frames) if self.cfg.max_flash_frames > 0 else 0
        self.max_trans = max(4, self.cfg.max_transition_frames)
        self.excursion = max(2, round(EXCURSION_SECONDS * (fps or 24.0)))
        self.cut_lookahead = max(self.max_flash + 2 + max(self.context, self.effect_frames), self.excursion + 2)
        self.blend_lookahead = max(BLEND_STEPS)
        # frames kept: enough past for the blend test and enough future for every lookahead
        self.keep = self.max_trans * 2 + self.cut_lookahead + max(BLEND_STEPS) + 4
        # (a run of quick cuts waits, at most run_span_max + RUN_GAP frames longer, to become one transition)
        self.latency = (max(self.cut_lookahead, self.max_trans + self.blend_lookahead + 4) + 2 + self.run_span_max
                        + RUN_GAP)
        self._win: dict[int, _Frame] = {}
        self._order: deque[int] = deque()
        self.n = 0  # frames pushed
        # per-frame series, read only near the frames being judged: bounded windows keep memory flat
        self.mad = FrameSeries(self.keep + 64)  # mean |Δluma| to the previous frame (0 for frame 0)
        self.dhist = FrameSeries(self.keep + 64)
        self.noise = FrameSeries(self.keep + 64)  # robust noise σ of the luma difference
        self.strength = RecentValues(self.keep)  # cut strength at evaluated candidates (diagnostics)
        self._strength_cache: dict[tuple[int, int], float] = {}
        self._median_cache: dict[tuple[int, int, float], float] = {}
        self._cut_pos = 1  # next frame to judge as a hard cut
        self._blend_pos = 1  # next frame to judge as a blend frame
        self._blend: list[bool] = [False]
        self._cuts: list[Boundary] = []  # judged hard cuts not yet emitted
        self._grads: list[Boundary] = []  # closed gradual transitions not yet emitted
        self._open_grad: list[int] = []  # blend frames of the transition being grown
        self.boundaries: list[Boundary] = []
        self.final_upto = 0
        self._flushed = False

    def _frames(self, at_24fps: int) -> int:
        """A window of ``at_24fps`` frames at 24 fps, in frames at this video's rate (at least 1)."""
        return max(1, round(at_24fps * self.rate))

    # ------------------------------------------------------------------ public
    def push(self, frame: DecodedFrame) -> None:
        if frame.still and self.n:
            # the same picture as the previous frame: share its features (nothing to compare either)
            prev = self._win[self.n - 1]
            rec = dataclasses.replace(prev, index=frame.index)
            self.mad.append(0.0)
            self.dhist.append(0.0)
            self.noise.append(0.0)  # a clean repeat: no measurable noise
            self._store(rec)
            return
        small8 = F.small_luma(frame.luma, frame.chroma)
        mean, std = cv2.meanStdDev(small8)
        rec = _Frame(
            frame.index, frame.luma, small8.astype(np.float32), frame.chroma,
            F.colour_hist(small8, frame.chroma), float(mean[0, 0]), float(std[0, 0]), F.saturation(frame.chroma),
        )
        if rec.sat < MONO_SAT and "mono" not in self._off:
            rec.lhist = F.luma_hist(frame.luma)
        if self.n:
            prev = self._win[self.n - 1]
            noise, mad = frame.delta or F.noise_and_mad(prev.luma, rec.luma)
            self.mad.append(mad)
            self.dhist.append(self._hist(prev, rec))
            self.noise.append(noise)
        else:
            self.mad.append(0.0)
            self.dhist.append(0.0)
            self.noise.append(0.0)
        self._store(rec)

    def _store(self, rec: _Frame) -> None:
        self._win[self.n] = rec
        self._order.append(self.n)
        self.n += 1
        self._advance(final=False)
        while len(self._order) > self.keep:
            old = self._order.popleft()
            if old >= min(self._cut_pos, self._blend_pos) - self.keep // 2:
                self._order.appendleft(old)
                break
            del self._win[old]

    def flush(self) -> None:
        self._flushed = True
        self._advance(final=True)

    def detect_all(self, frames) -> list[Boundary]:
        for f in frames:
            self.push(f)
        self.flush()
        return self.boundaries

    # --------------------------------------------------------------- internals
    @staticmethod
    def _hist(a: _Frame, b: _Frame) -> float:
        """Histogram distance of two frames: the joint YUV histogram, or, when both frames are colourless,
        the fine luma histogram (eight grey bins cannot tell two grey scenes apart)."""
        if a.lhist is not None and b.lhist is not None:
            return F.hist_distance(a.lhist, b.lhist)
        return F.hist_distance(a.hist, b.hist)

    def _have(self, i: int) -> bool:
        return 0 <= i < self.n

    def _noise(self, values: list[float], t: int, span: int = 24, q: float = 0.5) -> float:
        """The q-quantile of ``values`` over the ``span`` frames before t (memoised: asked again and again)."""
        key = (id(values), t, q)
        cached = self._median_cache.get(key)
        if cached is None:
            window = sorted(values[max(1, t - span) : t])  # sorting 24 floats beats np.median's overhead
            cached = float(window[int(q * (len(window) - 1))]) if window else 0.0
            self._median_cache[key] = cached
            if len(self._median_cache) > 4 * self.keep:
                self._median_cache.clear()
        return cached

    def _strength(self, a: int, b: int, below: float | None = None, above: float | None = None,
                  floor: float | None = None) -> float:
        """How much frame b looks like another scene than frame a: 0 same scene … 1 certainly another.

        Callers that only ask "is it below ``below``?" or "is it above ``above``?" get a bound instead of
        the value once the bound decides the question: first from the colour term alone, then from the
        block matching as its tiles come in. ``floor``: the caller needs the exact value unless it is below
        ``floor``. Only exact values are cached."""
        fa, fb = self._win[a], self._win[b]
        hist_term = min(1.0, self._hist(fa, fb) / 0.3)
        if below is not None and 0.5 * hist_term >= below:
            return 0.5 * hist_term  # a lower bound that is already too high
        if above is not None and 0.5 + 0.5 * hist_term < above:
            return 0.5 + 0.5 * hist_term  # an upper bound that is already too low
        key = (a, b)
        cached = self._strength_cache.get(key)
        if cached is not None:
            return cached

        def value(match: float) -> float:
            return 0.5 * (1.0 - match) + 0.5 * hist_term * (1.0 - match) ** 0.5

        def settled(low: float, high: float, tiles: int) -> bool:  # strength lies in [value(high), value(low)]
            if tiles < 6:
                return False  # the flat-frame formula below does not use the share
            weakest, strongest = value(high), value(low)
            if below is not None:
                return strongest < below or weakest >= below
            if floor is not None:
                return strongest < floor
            return above is not None and (weakest > above or strongest <= above)

        bm = F.block_match(self._soft(fa), self._soft(fb), noise=self._noise(self.noise, b),
                           cur_std=fb.soft_std, radius=self.search_radius, settled=settled)
        if bm.tiles < 6:  # flat frames: structure says little, lean on colour and luma
            mad_term = min(1.0, F.mean_abs_diff(fa.luma, fb.luma) / 40.0)
            result = 0.5 * hist_term + 0.5 * mad_term
        else:
            result = value(bm.share)
            if not bm.exact:
                return result  # a bound that answers the caller's question, not the value: not cached
        if len(self._strength_cache) > 4 * self.keep:
            self._strength_cache.clear()
        self._strength_cache[key] = result
        return result

    @staticmethod
    def _soft(f: _Frame) -> np.ndarray:
        if f.soft is None:
            f.soft = cv2.GaussianBlur(f.luma, (5, 5), 1.2)
            f.soft_std = F.tile_std(f.soft)
        return f.soft

    def _is_candidate(self, t: int) -> bool:
        sens = max(1e-3, self.cfg.cut_sensitivity)
        mad_floor = max(6.0, 2.0 * self._noise(self.mad, t)) / sens
        hist_floor = max(0.06, 2.0 * self._noise(self.dhist, t)) / sens
        return self.mad[t] > mad_floor or self.dhist[t] > hist_floor

    def _flash_like(self, i: int, ref: int) -> bool:
        """Does frame ``i`` look like an impact/flash frame rather than a picture of a scene?"""
        f, r = self._win[i], self._win[ref]
        if f.std < 12 or f.mean > 200 or f.mean < 35:
            return True  # white, black or near-uniform flash
        if r.sat > 8 and f.sat < 0.35 * r.sat:
            return True  # stark monochrome frame (speed lines, a silhouette impact) in a colour shot
        if r.std > 1 and f.std > 1:
            inv = float(np.corrcoef(f.small.ravel(), 255.0 - r.small.ravel())[0, 1])
            if inv > 0.4:
                return True  # luma-inverted frame
        if r.sat > 4 and f.sat > 4:
            fc = f.chroma.astype(np.float32).ravel() - 128.0
            rc = r.chroma.astype(np.float32).ravel() - 128.0
            if float(np.dot(fc, -rc) / (np.linalg.norm(fc) * np.linalg.norm(rc) + 1e-6)) > 0.7:
                return True  # colour-inverted frame (hues flipped)
        extremes = float(((f.small < 30) | (f.small > 225)).mean())
        return extremes > 0.6  # posterised black/white impact drawing

    def _continues_recent(self, t: int) -> bool:
        """True when frame t returns to a picture seen shortly before, with no cut since (the end of an
        explosion or effect that covered the shot, a long flash)."""
        last_cut = self._cuts[-1].end if self._cuts else (self.boundaries[-1].end if self.boundaries else 0)
        lo = max(last_cut, t - self.return_window, min(self._win))
        cur = self._win[t]
        near = []
        for j in range(t - 2, lo - 1, -1):
            past = self._win.get(j)
            if past is not None:
                d = self._hist(past, cur)
                if d <= 0.25:
                    near.append((d, j))
        # the closest pictures by colour first; a handful is enough to find the one the effect covered
        return any(self._strength(j, t, below=0.4) < 0.4 for _, j in sorted(near)[:RETURN_TRIES])

    def _judge_cut(self, t: int) -> None:
        if not self._is_candidate(t):
            return
        thr = 0.75 / max(1e-3, self.cfg.cut_sensitivity)
        cut_min = thr - 0.15  # the weakest change that can be a cut at all
        # the value is kept for the context test below, which compares it with (s' - 0.12) for a later
        # s' >= cut_min: below thr - 0.27 any bound answers that as the value would
        s = self._strength(t - 1, t, above=cut_min, floor=thr - 0.27)
        self.strength[t] = s
        if s < cut_min:
            return
        if "light" not in self._off and not self._fading(t) and self._same_structure(t - 1, t):
            return  # the same drawings under other light (a tint, firelight, a shot darkening)
        back = self._excursion_end(t, cut_min) if "return" not in self._off else None
        if back is not None:
            self._cut_pos = back  # the shot went on under the excursion; resume where it shows again
            return
        # flash frames: the scene before comes back within max_flash frames
        for k in range(1, (self.max_flash if "flash" not in self._off else 0) + 1):
            if not self._have(t + k):
                break
            if self._strength(t - 1, t + k, below=0.45) < 0.45:
                if all(self._flash_like(t + j, t - 1) for j in range(k)):
                    self._cut_pos = t + k  # impact/flash frames inside one shot; resume after them
                    return
                if "leap" not in self._off and self._strength(t + k - 1, t + k, above=0.45) <= 0.45:
                    # frame t+k looks like the frame before the candidate *and* like the one just before
                    # it: nothing came back, the picture never left its scene (a character leaping at the
                    # camera over the same background). An insert needs a second cut out of it
                    return
                # a normal-looking picture of another scene for k frames: a genuine short shot
                self._add_cut(Boundary("cut", t, t, s))
                self._add_cut(Boundary("cut", t + k, t + k, s))
                self._cut_pos = t + k
                return
        if ("continues" not in self._off and self._continues_recent(t)) or (
                "clears" not in self._off and self._clears_back(t, cut_min)):
            return
        if "leader" not in self._off and self._leader_ends(t):
            # the video opened on black (white, one colour): those frames are a fade in, not a shot
            self._add_cut(Boundary("cuts-fade", 0, t, s))
            return
        dip = self._dip_end(t, cut_min) if "dip" not in self._off else None
        if dip is not None:
            # a cut into black (white, one colour) and a cut out of it: the uniform frames are a transition
            # between the pictures (a "dip to black"), not a shot of their own
            self._add_cut(Boundary("cuts-fade", t, dip, s))
            self._cut_pos = dip
            return
        if s < thr and "context" not in self._off:
            # borderline: a dynamic shot has changes this large right after (or before), a cut does not.
            # Steps into or out of an impact/flash frame say nothing about how the drawings move
            for j in range(t + 1, min(self.n, t + 1 + self.context)):
                if (self.mad[j] > 0.6 * self.mad[t] and self._strength(j - 1, j, above=s - 0.12) > s - 0.12
                        and not self._flash_step(j, t)):
                    return
            for j in range(max(1, t - self.context), t):
                if (self.strength.get(j, 0.0) > s - 0.12 and self.mad[j] > 0.6 * self.mad[t]
                        and not self._flash_step(j, t - 1)):
                    return
        self._add_cut(Boundary("cut", t, t, s))

    def _fading(self, t: int) -> bool:
        """Is the contrast around frame t falling (or rising) step after step, as in a fade, rather than
        changing once (a change of light)? Fades are left to the transition rules."""
        stds = [self._win[i].std for i in (t - 1, t, t + 1) if i in self._win and i < self.n]
        if len(stds) < 3:
            return False
        falling = stds[1] < 0.95 * stds[0] and stds[2] < 0.95 * stds[1]
        rising = stds[1] > 1.05 * stds[0] and stds[2] > 1.05 * stds[1]
        return falling or rising

    def _same_structure(self, a: int, b: int) -> bool:
        """Do frames a and b show the same structure, whatever the light (``features.structure_match``)?"""
        fa, fb = self._win[a], self._win[b]
        noise = self._noise_level(b)
        sm = F.structure_match(self._soft(fa), self._soft(fb), radius=self.search_radius,
                               min_texture=max(10.0, 3.0 * noise), min_ncc=0.9)
        return sm.tiles >= 6 and sm.share >= SAME_STRUCTURE

    def _excursion_end(self, t: int, other: float) -> int | None:
        """The frame j in (t, t + excursion] where the picture before candidate t shows again, when no steady
        picture of another scene stands between (see ``_steady_other``); else None. Catches what covers a
        shot for a moment and leaves it: a body or wing sweeping over the camera, a white frame followed by
        speed lines over the scene, smears, sparks, light bursts."""
        last_cut = self._cuts[-1].end if self._cuts else (self.boundaries[-1].end if self.boundaries else 0)
        refs = [r for r in (t - 1, t - 1 - self.max_flash) if r >= last_cut and r in self._win]
        for j in range(t + 1, min(self.n, t + 1 + self.excursion)):
            if any(self._strength(r, j, below=SAME_SCENE) < SAME_SCENE for r in refs):
                return None if self._steady_other(t, j, refs[0], other) else j
        return None

    def _steady_other(self, a: int, b: int, ref: int, other: float) -> bool:
        """Do frames [a, b) show one steady, normal picture (not blank, not an impact frame) of another scene
        than frame ``ref`` (strength at least ``other``, another structure) for at least half of them, and at
        least two frames? Then they are a short shot between two cuts (an insert), not an excursion of the
        same shot: a shape sweeping over the camera or an effect changes from frame to frame."""
        need = max(2, (b - a + 1) // 2)
        run = 1
        for i in range(a, b - 1):
            steady = (self._strength(i, i + 1, below=STEADY) < STEADY and not self._flash_like(i, ref)
                      and not self._flash_like(i + 1, ref) and self._strength(ref, i, above=other) >= other
                      and ("light" in self._off or not self._same_structure(ref, i)))
            run = run + 1 if steady else 1
            if run >= need:
                return True
        return False

    def _clears_back(self, t: int, step_max: float) -> bool:
        """Does the picture before candidate t come back within ``effect_frames`` (12 at 24 fps) with no cut-like step
        (strength > ``step_max``) on the way? Then an effect covered the shot and cleared (sparks, smoke, a
        burst longer than a flash); another scene would have to be left by a second cut."""
        for j in range(t + 1, min(self.n, t + 1 + self.effect_frames)):
            if self._strength(j - 1, j, above=step_max) > step_max:
                return False
            if self._strength(t - 1, j, below=0.4) < 0.4:
                return True
        return False

    def _dip_end(self, t: int, step_min: float) -> int | None:
        """When frames t, t+1, … are blank (black, white, one colour) for at most ``dip_frames`` (12 at 24 fps) and a
        cut-like step (strength ≥ ``step_min``) leaves them, the first frame after them; else None."""
        if self._cuts and self._cuts[-1].end >= t - RUN_GAP:
            return None  # part of a run of quick cuts: rule 7 makes the whole run one transition
        blank = self._blank_test(t)
        if not blank(t):
            return None
        j = t + 1
        while j < min(self.n, t + self.dip_frames + 1) and blank(j):
            j += 1
        if j >= self.n:
            return self.n if self._flushed else None  # the video ends on black: those frames are no shot
        if blank(j) or self._strength(j - 1, j, above=step_min) < step_min:
            return None  # too long to see the end of here, or a fade-in: no dip
        return j

    def _leader_ends(self, t: int) -> bool:
        """Is frame t the first picture after at most ``dip_frames`` blank frames that open the video?"""
        if t > self.dip_frames or self._cuts or self.boundaries:
            return False
        blank = self._blank_test(t)  # a frame no longer in the window is not blank
        return not blank(t) and all(blank(i) for i in range(t))

    def _blank_test(self, a: int) -> Callable[[int], bool]:
        """A stricter ``_uniform_test`` for frames that stand between shots: nothing drawn at all, only
        noise (a pencil rough on white paper is near-uniform by the fade test, yet a picture)."""
        flat = max(4.0, 1.5 * self._noise_level(a))

        def blank(i: int) -> bool:
            f = self._win.get(i)
            return f is not None and f.std < flat

        return blank

    def _flash_step(self, j: int, ref: int) -> bool:
        """Is the change from frame j-1 to frame j the step into or out of an impact/flash frame (judged
        against ``ref``, a normal frame of the same shot)?"""
        return any(i in self._win and i != ref and self._flash_like(i, ref) for i in (j - 1, j))

    def _add_cut(self, b: Boundary) -> None:
        if self._cuts and b.end - self._cuts[-1].end < 1:
            return
        self._cuts.append(b)

    def _noise_level(self, t: int) -> float:
        """Grain/compression σ around frame t: a low quantile of recent pair estimates, because a pair's
        own estimate is inflated whenever most of the picture changes (fades, cuts, pans)."""
        return self._noise(self.noise, t, span=48, q=0.25)

    def _is_blend(self, t: int) -> bool:
        if "blend" in self._off:
            return False
        floor = max(0.5, 0.8 * self._noise_level(t))

        def same(i: int) -> bool:  # frame i shows the previous picture again, up to noise
            return i >= self.n or self.mad[i] <= floor

        if same(t) and same(t + 1):
            return False  # the same picture as both neighbours: not a mix of two others
        if not any(self._ends_differ(t, k) for k in (2, 4, 8)):
            return False  # the same scene on both sides (however much it moves): nothing is mixing
        steps = [k for k in BLEND_STEPS if self._have(t + k) and (t - k) in self._win]
        if not steps:
            return False
        ratios, alphas, rmss = F.blend_residuals(
            np.stack([self._win[t - k].small for k in steps]), self._win[t].small,
            np.stack([self._win[t + k].small for k in steps]),
        )
        return any(rms >= 8.0 and 0.15 < alpha < 0.85 and ratio <= 0.3 and self._ends_differ(t, k)
                   for k, ratio, alpha, rms in zip(steps, ratios, alphas, rmss))

    def _ends_differ(self, t: int, k: int) -> bool:
        """Cheap necessary condition for a mix at step k: the two ends differ in colour or brightness, or
        one is flat (the black or white of a fade)."""
        a, b = self._win.get(t - k), self._win.get(t + k) if t + k < self.n else None
        if a is None or b is None:
            return False
        return self._hist(a, b) > 0.2 or min(a.std, b.std) < 10 or abs(a.mean - b.mean) > 40

    def _close_grad(self) -> None:
        frames = self._open_grad
        self._open_grad = []
        if len(frames) < 3:
            return
        a, b = frames[0], frames[-1] + 1
        kind = self._gradual_kind(a, b)
        if (kind == "dissolve" and "fog" not in self._off and (a - 1) in self._win and b in self._win
                and self._strength(a - 1, b, below=0.45) < 0.45):
            return  # one scene on both sides: fog, smoke or light drifting over a shot, not a dissolve
        if self._grads and kind == "fade" and self._grads[-1].kind == "fade":
            prev = self._grads[-1]
            between = range(prev.end, a)
            uniform = self._uniform_test(a)
            if len(between) <= 2 * self.max_trans and all(uniform(i) for i in between):
                prev.end = b  # fade-out, uniform hold, fade-in: one transition
                return
        self._grads.append(Boundary(kind, a, b, 1.0))

    def _uniform_test(self, a: int) -> Callable[[int], bool]:
        """A test for black, white or single-colour frames (what fades pass through) near frame a."""
        flat = max(8.0, 2.5 * self._noise_level(a))  # grain keeps a black frame from being flat

        def uniform(i: int) -> bool:
            f = self._win.get(i)
            return f is not None and (f.std < flat or (f.std < 20 and (f.mean < 40 or f.mean > 215)))

        return uniform

    def _gradual_kind(self, a: int, b: int) -> str:
        """fade when a frame in or next to [a, b) is uniform (black, white, one colour), else dissolve."""
        uniform = self._uniform_test(a)
        return "fade" if any(uniform(i) for i in range(max(0, a - 1), min(self.n, b + 1))) else "dissolve"

    def _cut_run(self) -> list[Boundary]:
        """The pending cuts at the end of ``_cuts`` that follow each other within ``RUN_GAP`` frames."""
        run: list[Boundary] = []
        for b in reversed(self._cuts):
            if b.kind in RUN_KINDS or (run and run[0].end - b.end > RUN_GAP):
                break
            run.insert(0, b)
        return run

    def _merge_runs(self, final: bool) -> int | None:
        """Three or more cuts at most ``RUN_GAP`` frames apart are not 1-2-frame shots: they are a transition
        the blend test could not model (a short fade into a boiling or moving shot, a stepped wipe). Replace
        a finished run by one gradual boundary over its frames. Returns the first frame of a run that may
        still grow (nothing from there on is final), or None."""
        run = self._cut_run() if "runs" not in self._off else []
        if not run:
            return None
        span_left = run[-1].end - run[0].start < self.run_span_max  # latency stays bounded
        if not final and span_left and run[-1].end > self._cut_pos - 1 - RUN_GAP:
            return run[0].start  # a later cut can still join it
        if len(run) >= 3:
            del self._cuts[-len(run):]
            # stays with the cuts until emitted: a fade the blend test found over the same frames wins
            a, b = run[0].start, run[-1].end
            self._cuts.append(Boundary(f"cuts-{self._gradual_kind(a, b)}", a, b, max(c.strength for c in run)))
        return None

    def _advance(self, final: bool) -> None:
        limit = self.n if final else self.n - self.cut_lookahead
        while self._cut_pos < limit:
            self._judge_cut(self._cut_pos)
            self._cut_pos += 1
        blimit = self.n if final else self.n - self.blend_lookahead
        while self._blend_pos < blimit:
            t = self._blend_pos
            if self._is_blend(t):
                if self._open_grad and t - self._open_grad[-1] > 2:
                    self._close_grad()
                self._open_grad.append(t)
            elif self._open_grad and t - self._open_grad[-1] > 2:
                self._close_grad()
            self._blend_pos += 1
        if final and self._open_grad:
            self._close_grad()
        self._emit(final)

    def _emit(self, final: bool) -> None:
        growing = self._merge_runs(final)
        # gradual transitions are final once no blend frame can still join them …
        horizon = self.n if final else min(self._cut_pos, self._blend_pos - self.max_trans - 3)
        if self._open_grad:
            horizon = min(horizon, self._open_grad[0] - 1)
        if growing is not None:
            horizon = min(horizon, growing - 1)  # a run of cuts that may still become a transition
        ready: list[Boundary] = []
        while self._grads and self._grads[0].end <= horizon:
            ready.append(self._grads.pop(0))
        # … and cuts (and frames) only up to the start of a transition that is not final yet
        if self._grads:
            horizon = min(horizon, self._grads[0].start - 3)
        while self._cuts and self._cuts[0].end <= horizon:
            ready.append(self._cuts.pop(0))
        if self._cuts:  # a merged run not emitted yet: its frames are not final either
            horizon = min(horizon, self._cuts[0].start)
        ready.sort(key=lambda b: (b.start, b.end))
        grads = [b for b in ready if b.kind != "cut" and b.kind not in RUN_KINDS]
        grads += [b for b in self.boundaries if b.kind != "cut"][-2:]
        for b in ready:
            cutlike = b.kind == "cut" or b.kind in RUN_KINDS
            if cutlike and any(g.start - 2 <= b.end and b.start <= g.end + 2 for g in grads):
                continue  # a cut inside (or at the edge of) a gradual transition is that transition
            if b.kind in RUN_KINDS:
                b = Boundary(RUN_KINDS[b.kind], b.start, b.end, b.strength)
            self._append(b)
        self.final_upto = max(self.final_upto, min(horizon, self.n))

    def _append(self, b: Boundary) -> None:
        last_end = self.boundaries[-1].end if self.boundaries else 0
        if b.start < last_end:
            return
        if b.kind == "cut" and b.end - last_end < self.cfg.min_shot_frames and self.boundaries:
            return
        if b.start <= 0 and b.kind == "cut":
            return
        self.boundaries.append(b)


def shots_from_boundaries(boundaries: list[Boundary], frame_count: int) -> list[tuple[int, int, str, str]]:
    """Shots as (start, end, transition_in, transition_out); frames inside gradual transitions are left out."""
    shots = []
    start, t_in = 0, "start"
    for b in boundaries:
        if b.start > start:
            shots.append((start, b.start, t_in, b.kind))
        start, t_in = b.end, b.kind
    if frame_count > start:
        shots.append((start, frame_count, t_in, "end"))
    return shots
