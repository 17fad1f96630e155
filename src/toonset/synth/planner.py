"""Draw a random :class:`VideoPlan` from a seed: which shots, their timing, effects and transitions.

Every video gets at least one gradual transition, one pan, one impact flash, one caption and one shot
that opens on a long hold followed by a big pose change, wherever its shots leave room; with
``hard_cases`` it also gets every hard shot kind that fits (all of them from six shots on).

With ``stress`` (opt-in; without it the plan is exactly what it always was) one shot moves smoothly on
ones (from two shots on; it takes one of the hard-kind slots) and the shots also carry the in-shot stress
cases of :mod:`toonset.synth.stress`, each at least once wherever a shot can take it: occlusion sweeps (one
to three in a shot), mixed impact runs, lighting changes, fire and smear frames. Shots grow to make room.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from toonset.synth.captions import PHRASES
from toonset.synth.effects import FLASH_STYLES, OVERLAY_STYLES, PLAIN_STYLES, FlashStyle
from toonset.synth.options import SynthOptions
from toonset.synth.palette import BLACK, WHITE
from toonset.synth.timeline import (
    Caption,
    Explosion,
    Flash,
    Framing,
    Lighting,
    LightingMode,
    Motion,
    Occlusion,
    Pan,
    ShotKind,
    ShotPlan,
    Smear,
    SweepDirection,
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

# stress cases (SynthOptions.stress): the shot kinds that may carry each, and their sizes in frames
STRESSABLE: dict[str, frozenset[str]] = {
    "occlusion": frozenset({"normal", "same_palette", "boil", "explosion", "smooth"}),
    "impact_mix": frozenset({"normal", "same_palette", "boil", "explosion", "smooth"}),
    "lighting": frozenset({"normal", "same_palette", "explosion", "smooth"}),
    "fire": frozenset({"normal", "same_palette", "boil"}),
    "smear": frozenset({"normal", "same_palette", "explosion"}),
}
SWEEP_ENTER, SWEEP_COVER, SWEEP_LEAVE = (1, 3), (2, 6), (1, 3)
SWEEPS = (1, 3)  # occlusion sweeps in one shot
IMPACT_MIX_FRAMES = (2, 4)
LIGHTING_FRAMES = (4, 16)
FIRE_FRAMES = (8, 24)
SMEAR_FRAMES = (1, 2)
EVENT_GAP = 2  # plain frames kept between two in-shot events
LIGHTING_MODES: tuple[LightingMode, ...] = ("dark", "bright", "tint")
DIRECTIONS: tuple[SweepDirection, ...] = ("right", "left", "down", "up")


def plan_video(seed: int, options: SynthOptions) -> VideoPlan:
    """The plan of the video for ``seed``; deterministic for the same seed and options."""
    rng = np.random.default_rng([seed, 0])
    if options.stress:
        kinds = _arrange_stress_kinds(rng, options.num_shots, options.hard_cases)
    else:
        kinds = _arrange_kinds(rng, options.num_shots, options.hard_cases)
    transitions = _choose_transitions(rng, kinds)
    long_hold = _pick(rng, _indices(kinds, LONG_HOLDABLE), 0.15)
    pans = _pick(rng, _indices(kinds, PANNABLE), 0.35)
    flashes = _pick(rng, _indices(kinds, FLASHABLE), 0.35)
    captions = _pick(rng, [i for i, kind in enumerate(kinds) if kind != "flash_shot"], 0.3)
    stress: dict[str, set[int]] = {}
    if options.stress:
        stress = {event: _pick(rng, _indices(kinds, allowed), 0.3) for event, allowed in STRESSABLE.items()}

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
                stress=[event for event, chosen in stress.items() if index in chosen],
            )
        )
    return VideoPlan(tuple(shots))


def _arrange_kinds(rng: np.random.Generator, count: int, hard_cases: bool) -> list[ShotKind]:
    """Shot kinds in order: the first shot is normal, hard kinds go wherever their neighbours allow."""
    if not hard_cases:
        return ["normal"] * count
    return _place_kinds(rng, count, min(len(HARD_KINDS), count - 1),
                        lambda size: [HARD_KINDS[i] for i in rng.permutation(len(HARD_KINDS))[:size]])


def _arrange_stress_kinds(rng: np.random.Generator, count: int, hard_cases: bool) -> list[ShotKind]:
    """Like :func:`_arrange_kinds`, but one shot (not the first) is always a smooth-motion shot."""
    others = HARD_KINDS if hard_cases else ()
    return _place_kinds(rng, count, min(len(others) + 1, count - 1),
                        lambda size: ["smooth", *(others[i] for i in rng.permutation(len(others))[: size - 1])])


def _place_kinds(rng: np.random.Generator, count: int, most: int,
                 pick: Callable[[int], list[ShotKind]]) -> list[ShotKind]:
    """Normal shots with ``pick(size)`` special kinds put in random slots after the first, trying ``most``
    kinds first and fewer until an order ``_valid_order`` accepts turns up (else all normal)."""
    kinds: list[ShotKind] = ["normal"] * count
    for size in range(most, 0, -1):
        for _ in range(200):
            chosen = pick(size)
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
    stress: list[str] | None = None,
) -> ShotPlan:
    """One shot of ``kind``; ``look`` holds its hue, palette_seed, framing and layout_seed; ``stress``
    names the stress cases it carries (stress videos only)."""
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
    if stress:
        length = _plan_stress(rng, fields, stress, max(2, quiet + 1), length, busy)
    if kind == "smooth":
        fields["timing"] = "ones"
        fields["drawings"] = (tuple(range(length)),)
        fields["motion"] = _plan_motion(rng, options, length)
        return ShotPlan(**fields)

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


def _plan_stress(
    rng: np.random.Generator,
    fields: dict,
    events: list[str],
    earliest: int,
    length: int,
    busy: list[tuple[int, int]],
) -> int:
    """Place the stress ``events`` in the shot described by ``fields`` (clear of its flashes, explosion and
    each other, strictly inside it) and return its length, grown where they did not fit."""
    busy = [*busy, *((flash.start, flash.end) for flash in fields.get("flashes", ()))]
    occlusions: list[Occlusion] = []
    lighting: list[Lighting] = []
    smears: list[Smear] = []
    staying: LightingMode | None = None  # a light change that lasts to the end of the shot goes last
    for event in events:
        if event == "occlusion":
            for _ in range(int(rng.integers(SWEEPS[0], SWEEPS[1] + 1))):
                enter, cover, leave = (
                    int(rng.integers(lo, hi + 1)) for lo, hi in (SWEEP_ENTER, SWEEP_COVER, SWEEP_LEAVE)
                )
                direction = DIRECTIONS[int(rng.integers(len(DIRECTIONS)))]
                start, length = _place(rng, enter + cover + leave, earliest, length, busy)
                occlusions.append(Occlusion(start, enter, cover, leave, direction))
        elif event == "impact_mix":
            styles = _mixed_styles(rng)
            start, length = _place(rng, len(styles), earliest, length, busy)
            fields["flashes"] = (*fields.get("flashes", ()), Flash(start, styles))
        elif event == "lighting":
            mode = LIGHTING_MODES[int(rng.integers(len(LIGHTING_MODES)))]
            if rng.random() < 0.35:
                staying = mode
                continue
            frames = int(rng.integers(LIGHTING_FRAMES[0], LIGHTING_FRAMES[1] + 1))
            start, length = _place(rng, frames, earliest, length, busy)
            lighting.append(Lighting(start, start + frames, mode))
        elif event == "fire":
            frames = int(rng.integers(FIRE_FRAMES[0], FIRE_FRAMES[1] + 1))
            start, length = _place(rng, frames, earliest, length, busy)
            lighting.append(Lighting(start, start + frames, "fire", int(rng.integers(1, 3))))
        elif event == "smear":
            for _ in range(int(rng.integers(1, 3))):
                frames = int(rng.integers(SMEAR_FRAMES[0], SMEAR_FRAMES[1] + 1))
                start, length = _place(rng, frames, earliest, length, busy)
                reach = int(rng.integers(20, 45))
                smears.append(Smear(start, start + frames, reach if rng.random() < 0.5 else -reach))
    if staying is not None:
        start = max([earliest, *(end + EVENT_GAP for _, end in busy)])
        start += int(rng.integers(0, 6))
        length = max(length, start + int(rng.integers(LIGHTING_FRAMES[0], LIGHTING_FRAMES[1] + 1)))
        lighting.append(Lighting(start, length, staying))
    fields["occlusions"] = tuple(sorted(occlusions, key=lambda o: o.start))
    fields["lighting"] = tuple(sorted(lighting, key=lambda light: light.start))
    fields["smears"] = tuple(sorted(smears, key=lambda smear: smear.start))
    fields["flashes"] = tuple(sorted(fields.get("flashes", ()), key=lambda flash: flash.start))
    return length


def _place(
    rng: np.random.Generator, frames: int, earliest: int, length: int, busy: list[tuple[int, int]]
) -> tuple[int, int]:
    """A start for an event of ``frames`` frames that keeps ``EVENT_GAP`` frames clear of every ``busy``
    span and ends at least two frames before the shot does, and the shot's length (grown when needed);
    the new span is added to ``busy``."""
    starts = [
        s
        for s in range(earliest, length - frames - 1)
        if all(s + frames + EVENT_GAP <= lo or s >= hi + EVENT_GAP for lo, hi in busy)
    ]
    if starts:
        start = int(rng.choice(starts))
    else:
        start = max([earliest, *(hi + EVENT_GAP for _, hi in busy)])
        length = max(length, start + frames + int(rng.integers(2, 9)))
    busy.append((start, start + frames))
    return start, length


def _mixed_styles(rng: np.random.Generator) -> tuple[FlashStyle, ...]:
    """Two to four impact frames mixing plain white/black frames with speed lines over the scene."""
    count = int(rng.integers(IMPACT_MIX_FRAMES[0], IMPACT_MIX_FRAMES[1] + 1))
    while True:
        styles: list[FlashStyle] = []
        for _ in range(count):
            pool = PLAIN_STYLES if rng.random() < 0.5 else OVERLAY_STYLES
            choices = [style for style in pool if not styles or style != styles[-1]]
            styles.append(choices[int(rng.integers(len(choices)))])
        if any(s in PLAIN_STYLES for s in styles) and any(s in OVERLAY_STYLES for s in styles):
            return tuple(styles)


def _plan_motion(rng: np.random.Generator, options: SynthOptions, length: int) -> Motion:
    """Continuous motion for a smooth shot: a sub-pixel drift, a slow zoom and characters moving on ones."""
    scale = options.width / 320
    drift = float(rng.uniform(0.25, 0.8)) * scale * (1 if rng.random() < 0.5 else -1)
    zooms = sorted(rng.uniform(1.0, 1.15, 2))
    if zooms[1] - zooms[0] < 0.03:
        zooms[1] = zooms[0] + 0.03
    zoom_from, zoom_to = zooms if rng.random() < 0.5 else zooms[::-1]
    walk = float(rng.uniform(0.1, 0.5)) * scale * (1 if rng.random() < 0.5 else -1)
    return Motion(drift, float(zoom_from), float(zoom_to), int(rng.integers(6, 13)), walk)
