"""Draw a random :class:`VideoPlan` from a seed: which shots, their timing, effects and transitions.

Every video gets at least one gradual transition, one pan, one impact flash, one caption and one shot
that opens on a long hold followed by a big pose change, wherever its shots leave room; with
``hard_cases`` it also gets every hard shot kind that fits (all of them from six shots on).
"""

from __future__ import annotations

import numpy as np

from toonset.synth.captions import PHRASES
from toonset.synth.effects import FLASH_STYLES
from toonset.synth.options import SynthOptions
from toonset.synth.palette import BLACK, WHITE
from toonset.synth.timeline import (
    Caption,
    Explosion,
    Flash,
    Framing,
    Pan,
    ShotKind,
    ShotPlan,
    Timing,
    Transition,
    VideoPlan,
    holds_to_drawings,
)

HARD_KINDS: tuple[ShotKind, ...] = ("flash_shot", "split_screen", "boil", "explosion", "same_palette")
TIMINGS: tuple[Timing, ...] = ("ones", "twos", "threes", "mixed", "limited", "still")
TIMING_WEIGHTS = (0.15, 0.3, 0.15, 0.2, 0.12, 0.08)
BOIL_TIMINGS: tuple[Timing, ...] = ("still", "twos", "limited")
FIXED_HOLDS = {"ones": 1, "twos": 2, "threes": 3}
LONG_HOLD = (12, 48)  # frames of one drawing
LONG_HOLD_SHOT = 36  # the shortest shot that opens on a long hold
TRANSITION_FRAMES = (6, 24)
PAN_FRAMES = (12, 48)
EXPLOSION_FRAMES = (6, 12)
CAPTION_FRAMES = (24, 72)

# which shot kinds may carry each feature
PANNABLE = frozenset({"normal", "same_palette"})
FLASHABLE = frozenset({"normal", "same_palette", "boil", "explosion"})
LONG_HOLDABLE = frozenset({"normal", "same_palette", "explosion"})


def plan_video(seed: int, options: SynthOptions) -> VideoPlan:
    """The plan of the video for ``seed``; deterministic for the same seed and options."""
    rng = np.random.default_rng([seed, 0])
    kinds = _arrange_kinds(rng, options.num_shots, options.hard_cases)
    transitions = _choose_transitions(rng, kinds)
    long_hold = _pick(rng, _indices(kinds, LONG_HOLDABLE), 0.15)
    pans = _pick(rng, _indices(kinds, PANNABLE), 0.35)
    flashes = _pick(rng, _indices(kinds, FLASHABLE), 0.35)
    captions = _pick(rng, [i for i, kind in enumerate(kinds) if kind != "flash_shot"], 0.3)

    shots: list[ShotPlan] = []
    for index, kind in enumerate(kinds):
        previous = shots[-1] if shots else None
        if kind == "same_palette" and previous is not None:
            hue, palette_seed = previous.hue, previous.palette_seed
            framing: Framing = "close" if previous.framing == "wide" else "wide"
        else:
            start_hue = rng.uniform(0, 360) if previous is None else previous.hue + rng.uniform(70, 290)
            hue = float(start_hue % 360)  # consecutive shots differ by at least 70 degrees of hue
            palette_seed = int(rng.integers(2**31))
            framing = "close" if kind != "split_screen" and rng.random() < 0.3 else "wide"
        look = {
            "hue": hue,
            "palette_seed": palette_seed,
            "framing": framing,
            "layout_seed": int(rng.integers(2**31)),
        }
        shots.append(
            _plan_shot(
                rng,
                options,
                kind,
                transitions[index],
                look,
                long_hold=index in long_hold,
                pan=index in pans,
                flash=index in flashes,
                caption=index in captions,
            )
        )
    return VideoPlan(tuple(shots))


def _arrange_kinds(rng: np.random.Generator, count: int, hard_cases: bool) -> list[ShotKind]:
    """Shot kinds in order: the first shot is normal, hard kinds go wherever their neighbours allow."""
    kinds: list[ShotKind] = ["normal"] * count
    if not hard_cases:
        return kinds
    for size in range(min(len(HARD_KINDS), count - 1), 0, -1):
        for _ in range(200):
            chosen = [HARD_KINDS[i] for i in rng.permutation(len(HARD_KINDS))[:size]]
            slots = rng.permutation(np.arange(1, count))[:size]
            candidate = list(kinds)
            for slot, kind in zip(slots, chosen):
                candidate[int(slot)] = kind
            if _valid_order(candidate):
                return candidate
    return kinds


def _valid_order(kinds: list[ShotKind]) -> bool:
    """A flash shot needs a shot after it; a same-palette shot needs an ordinary shot before it."""
    for index, kind in enumerate(kinds):
        if kind == "flash_shot" and index == len(kinds) - 1:
            return False
        if kind == "same_palette" and kinds[index - 1] in ("flash_shot", "split_screen"):
            return False
    return True


def _choose_transitions(rng: np.random.Generator, kinds: list[ShotKind]) -> list[Transition]:
    """Mostly cuts; flash shots and same-palette shots are always cut to; at least one gradual one."""
    eligible = [
        i
        for i in range(1, len(kinds))
        if kinds[i] not in ("flash_shot", "same_palette") and kinds[i - 1] != "flash_shot"
    ]
    gradual = _pick(rng, eligible, 0.25)
    transitions = [Transition("start")]
    for index in range(1, len(kinds)):
        if index not in gradual:
            transitions.append(Transition("cut"))
            continue
        length = int(rng.integers(TRANSITION_FRAMES[0], TRANSITION_FRAMES[1] + 1))
        if rng.random() < 0.55:
            transitions.append(Transition("fade", length, BLACK if rng.random() < 0.7 else WHITE))
        else:
            transitions.append(Transition("dissolve", length))
    return transitions


def _indices(kinds: list[ShotKind], allowed: frozenset[str]) -> list[int]:
    return [i for i, kind in enumerate(kinds) if kind in allowed]


def _pick(rng: np.random.Generator, eligible: list[int], probability: float) -> set[int]:
    """Shots that get a feature: one sure pick among ``eligible``, each of the others by chance."""
    if not eligible:
        return set()
    chosen = {i for i in eligible if rng.random() < probability}
    chosen.add(int(rng.choice(eligible)))
    return chosen


def _span(rng: np.random.Generator, bounds: tuple[int, int], lowest: int, room: int) -> int:
    """A random length in ``bounds`` that is no longer than ``room`` (but at least ``lowest``)."""
    return int(rng.integers(lowest, max(lowest, min(bounds[1], room)) + 1)) if room > lowest else lowest


def _plan_shot(
    rng: np.random.Generator,
    options: SynthOptions,
    kind: ShotKind,
    transition: Transition,
    look: dict,
    *,
    long_hold: bool,
    pan: bool,
    flash: bool,
    caption: bool,
) -> ShotPlan:
    """One shot of ``kind``; ``look`` holds its hue, palette_seed, framing and layout_seed."""
    fields: dict = {"kind": kind, "transition_in": transition, **look}
    if kind == "flash_shot":
        fields["timing"] = "ones" if rng.random() < 0.5 else "still"
        fields["drawings"] = (holds_to_drawings([1, 1] if fields["timing"] == "ones" else [2]),)
        return ShotPlan(**fields)

    length = int(rng.integers(options.min_shot_frames, options.max_shot_frames + 1))
    opening = 0  # frames of the long hold the shot opens on
    if long_hold:
        length = max(length, LONG_HOLD_SHOT)
        opening = _span(rng, LONG_HOLD, LONG_HOLD[0], length - 12)
    quiet = opening + 1  # effects and pans start after the opening hold and the big change
    if flash or caption:
        length = max(length, quiet + 6)
    if pan:
        pan_frames = _span(rng, PAN_FRAMES, PAN_FRAMES[0], length - quiet)
        length = max(length, quiet + pan_frames)
        start = int(rng.integers(quiet, length - pan_frames + 1))
        speed = int(rng.integers(1, 4)) * max(1, round(options.width / 320))
        fields["pan"] = Pan(start, start + pan_frames, speed if rng.random() < 0.5 else -speed)
    busy: list[tuple[int, int]] = []  # frames already used by an explosion (kept clear of flashes)
    if kind == "explosion":
        frames = int(rng.integers(EXPLOSION_FRAMES[0], EXPLOSION_FRAMES[1] + 1))
        tail = 6 if flash else 2  # frames kept after the burst: the shot resumes (and may flash later)
        length = max(length, quiet + frames + tail)
        start = int(rng.integers(quiet, length - frames - tail + 1))
        fields["explosion"] = Explosion(start, start + frames)
        busy.append((start - 1, start + frames + 1))
    if flash:
        fields["flashes"] = _plan_flash(rng, max(2, quiet + 1), length, busy)
    if caption:
        fields["captions"] = _plan_captions(rng, quiet, length)

    if kind == "split_screen":
        fields["timing"] = "twos"
        fields["drawings"] = _split_drawings(rng, length)
        return ShotPlan(**fields)
    if kind == "boil":
        timing: Timing = BOIL_TIMINGS[int(rng.integers(len(BOIL_TIMINGS)))]
        fields["boil_period"] = 2
    else:
        timing = TIMINGS[int(rng.choice(len(TIMINGS), p=TIMING_WEIGHTS))]
    if opening and timing == "still":
        timing = "twos"
    fields["timing"] = timing
    if opening:
        holds = [opening, *_fill_holds(rng, timing, length - opening)]
        fields["big_changes"] = (1,)
    elif timing != "still" and length >= 2 * LONG_HOLD[0] + 6 and rng.random() < 0.35:
        hold = _span(rng, LONG_HOLD, LONG_HOLD[0], length - LONG_HOLD[0] - 6)
        before = int(rng.integers(1, length - hold))
        holds = [*_fill_holds(rng, timing, before), hold, *_fill_holds(rng, timing, length - before - hold)]
    else:
        holds = _fill_holds(rng, timing, length)
    fields["drawings"] = (holds_to_drawings(holds),)
    return ShotPlan(**fields)


def _fill_holds(rng: np.random.Generator, timing: Timing, frames: int) -> list[int]:
    """Hold lengths for ``timing`` that add up to exactly ``frames``."""
    holds: list[int] = []
    while sum(holds) < frames:
        if timing == "still":
            holds.append(frames)
        elif timing in FIXED_HOLDS:
            holds.append(FIXED_HOLDS[timing])
        else:
            holds.append(int(rng.integers(2, 7) if timing == "limited" else rng.integers(1, 5)))
    if holds:
        holds[-1] -= sum(holds) - frames
    return holds


def _split_drawings(rng: np.random.Generator, length: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two panels that take turns: the active panel animates on twos while the other holds."""
    panels: list[list[int]] = [[], []]
    current, active, turn_left = [0, 0], int(rng.integers(2)), 0
    for frame in range(length):
        if turn_left == 0:
            active, turn_left = 1 - active, int(rng.integers(6, 17))
        if frame > 0 and turn_left % 2 == 0:
            current[active] += 1
        turn_left -= 1
        panels[0].append(current[0])
        panels[1].append(current[1])
    return (tuple(panels[0]), tuple(panels[1]))


def _plan_flash(
    rng: np.random.Generator, earliest: int, length: int, busy: list[tuple[int, int]]
) -> tuple[Flash, ...]:
    """One to three impact frames strictly inside the shot, never two alike in a row."""
    count = int(rng.integers(1, 4))
    starts = [
        s for s in range(earliest, length - count - 1) if all(s + count <= lo or s >= hi for lo, hi in busy)
    ]
    if not starts:
        return ()
    styles = [FLASH_STYLES[int(rng.integers(len(FLASH_STYLES)))]]
    while len(styles) < count:
        styles.append(
            FLASH_STYLES[int(rng.choice([i for i, s in enumerate(FLASH_STYLES) if s != styles[-1]]))]
        )
    return (Flash(int(rng.choice(starts)), tuple(styles)),)


def _plan_captions(rng: np.random.Generator, earliest: int, length: int) -> tuple[Caption, ...]:
    """One caption, sometimes followed straight away by a second line, inside [earliest, length - 1)."""
    captions: list[Caption] = []
    start = earliest + int(rng.integers(0, max(1, (length - earliest) // 3)))
    phrases = rng.permutation(len(PHRASES))
    while start < length - 3 and len(captions) < 2:
        end = min(length - 1, start + _span(rng, CAPTION_FRAMES, CAPTION_FRAMES[0], length - 1 - start))
        captions.append(
            Caption(
                start,
                end,
                PHRASES[int(phrases[len(captions)])],
                "box" if rng.random() < 0.6 else "outline",
                "bottom" if rng.random() < 0.8 else "top",
            )
        )
        if rng.random() < 0.6:
            break
        start = end
    return tuple(captions)
