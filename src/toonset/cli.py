"""The ``toonset`` command line. Thin: parse arguments, call the library, print results."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

from toonset import __version__
from toonset.errors import ToonsetError, UsageError
from toonset.pipeline.stage import MissingExtraError

EPILOG = "Run 'toonset <command> --help' for the options of one command."

# modules that add more verbs: each has ``register(subparsers)`` (keeps this file small and merge-friendly)
COMMAND_MODULES: list[str] = ["toonset.cli_curate", "toonset.cli_annotate"]


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=1, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def _load_config(args: argparse.Namespace):
    from toonset.config import BuildConfig

    cfg = BuildConfig.load(getattr(args, "config", None))
    if getattr(args, "method", None):
        cfg.shots.method = args.method
    if getattr(args, "media_mode", None):
        cfg.media.mode = args.media_mode
    if getattr(args, "no_keyframes", False):
        cfg.keyframes.enabled = False
    return cfg


# ----------------------------------------------------------------------------- build
def cmd_build(args: argparse.Namespace) -> int:
    if getattr(args, "executor", "local") == "local":
        from toonset.executors.processes import prestart_workers

        prestart_workers()  # the fork server imports the worker modules while this process imports its own
    from tqdm import tqdm

    from toonset.run import build_dataset
    from toonset.store.tables import skip_pandas_probe

    skip_pandas_probe()  # this process only merges tables: no pandas import (~0.35 s) for pyarrow's probe
    cfg = _load_config(args)
    bar: dict[str, Any] = {}
    show = sys.stderr.isatty() and not args.quiet

    def on_plan(n_sources: int, n_done: int) -> None:
        if n_done and not args.quiet:
            print(f"resuming: {n_done} task(s) already complete", file=sys.stderr)
        bar["bar"] = tqdm(total=n_sources, unit="video", desc="build", disable=not show, dynamic_ncols=True)
        bar["frames"] = 0

    def on_event(kind: str, data: dict[str, Any]) -> None:
        b = bar.get("bar")
        if b is None:
            return
        if kind == "source_done":
            bar["frames"] += data.get("frames", 0)
            b.update(1)
            rate = bar["frames"] / max(1e-6, b.format_dict.get("elapsed", 0) or 1e-6)
            b.set_postfix(frames=bar["frames"], fps=f"{rate:.0f}")

    try:
        summary = build_dataset(
            args.inputs, args.output, cfg, workers=args.workers, executor=args.executor,
            media=not args.no_media, fps=args.fps, overwrite=args.overwrite,
            on_plan=on_plan, on_event=on_event, ray_address=args.address,
        )
    finally:
        if bar.get("bar") is not None:
            bar["bar"].close()
    if args.annotate:
        from toonset.cli_annotate import load_annotate_settings, run_annotate

        summary["annotate"] = run_annotate(summary["output"], args.annotate.split(","),
                                           load_annotate_settings(args.config), args.workers,
                                           args.executor, False, args.quiet, args.address)
    if args.json:
        _print_json(summary)
    else:
        c = summary["counts"]
        print(f"dataset: {summary['output']}")
        print(f"sources: {c['sources']} ok, {c['errors']} error row(s)  clips: {c['clips']}  "
              f"keyframes: {c['keyframes']}  frames: {c['frames']}  duration: {summary['duration_s']:.1f} s")
        if summary["errors_by_type"]:
            print("errors: " + ", ".join(f"{k}={v}" for k, v in sorted(summary["errors_by_type"].items())))
        fps = c["frames"] / max(1e-6, summary["elapsed_s"])
        print(f"time: {summary['elapsed_s']:.1f} s ({fps:.0f} frames/s)")
        if "annotate" in summary:
            from toonset.cli_annotate import print_annotate_summary

            print_annotate_summary(summary["annotate"])
    return 0


# ----------------------------------------------------------------------------- synth
def cmd_synth(args: argparse.Namespace) -> int:
    from toonset.synth import SynthOptions, generate_set

    opts = SynthOptions()
    for name in ("width", "height", "crf", "grain", "weave", "flicker", "bars"):
        value = getattr(args, name)
        if value is not None:
            setattr(opts, name, value)
    opts.stress, opts.mono = args.stress, args.mono
    try:
        paths = generate_set(args.output, count=args.count, seed=args.seed, options=opts,
                             vary=not args.uniform) if args.count > 0 else []
    except ValueError as exc:
        raise UsageError(f"synth: {exc}") from exc
    except OSError as exc:
        raise UsageError(f"synth: cannot write to {args.output}: {exc.strerror or exc}") from exc
    if args.json:
        _print_json({"videos": [str(p) for p in paths]})
    else:
        for p in paths:
            print(p)
    return 0


# --------------------------------------------------------------------------- inspect
def cmd_inspect(args: argparse.Namespace) -> int:
    from toonset.store.inspect import inspect_dataset

    try:
        info = inspect_dataset(args.dataset)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        _print_json(info)
        return 0
    c = info["counts"]
    print(f"dataset   {info['path']}")
    print(f"sources   {c.get('sources', 0)} ({info['sources_ok']} ok)   errors {c.get('errors', 0)}   "
          f"filtered {c.get('filtered', 0)}")
    print(f"clips     {c.get('clips', 0)}   keyframes {c.get('keyframes', 0)}   frames {c.get('frames', 0)}   "
          f"duration {info['total_duration_s']:.1f} s   shards {info['shards']}")
    cd = info["clip_duration_s"]
    print(f"clip length  mean {cd['mean']:.2f} s  median {cd['median']:.2f} s")
    top = max([b["count"] for b in cd["histogram"]] + [1])
    for b in cd["histogram"]:
        print(f"  {b['bin']:>9} {b['count']:6d} {'#' * round(30 * b['count'] / top)}")
    print("frames by hold  " + "  ".join(f"{k.split('_')[1]} {v:.1%}" for k, v in info["hold_share_of_frames"].items()))
    hh = info["hold_length_histogram"]
    if hh:
        top = max(hh.values())
        print("hold length (frames per drawing)")
        for k, v in hh.items():
            print(f"  {k:>3} {v:7d} {'#' * round(30 * v / top)}")
    print("timing    " + ", ".join(f"{k} {v}" for k, v in sorted(info["timing_labels"].items())))
    print("cuts in   " + ", ".join(f"{k} {v}" for k, v in sorted(info["transitions"].items())))
    if info["errors_by_type"]:
        print("errors    " + ", ".join(f"{k} {v}" for k, v in sorted(info["errors_by_type"].items())))
    ann = info["annotations"]
    for name, a in sorted(ann["annotators"].items()):
        print(f"annotator {name} {a['version']}: {a['clips']} clips, {a['errors']} error(s)")
    if ann["tables"]:
        print("annotations " + ", ".join(f"{t} {n}" for t, n in sorted(ann["tables"].items())))
    return 0


# ---------------------------------------------------------------------- shots/timing
def _analyze(args: argparse.Namespace) -> dict[str, Any]:
    from toonset.pipeline.single import analyze_video

    try:
        return analyze_video(args.video, _load_config(args), fps=args.fps)
    except ToonsetError as exc:
        raise UsageError(f"{args.video}: {exc}") from exc


def cmd_shots(args: argparse.Namespace) -> int:
    r = _analyze(args)
    if args.json:
        keys = ("fps", "fps_fraction", "fps_mode", "frame_count", "shots", "transitions", "detector")
        _print_json({k: r[k] for k in keys})
        return 0
    print(f"{r['path']}: {r['frame_count']} frames at {r['fps']:.3f} fps, {len(r['shots'])} shot(s)")
    for i, s in enumerate(r["shots"]):
        print(f"  {i:3d}  frames {s['start_frame']:6d}-{s['end_frame'] - 1:<6d} "
              f"{s['start_time']:8.3f}-{s['end_time']:8.3f} s  in: {s['transition']:<8} timing: {s['timing']}")
    return 0


def cmd_timing(args: argparse.Namespace) -> int:
    r = _analyze(args)
    if args.json:
        _print_json({"frame_count": r["frame_count"], "keyframes": r["keyframes"], "holds": r["holds"]})
        return 0
    n = r["frame_count"]
    print(f"{r['path']}: {len(r['keyframes'])} drawings in {n} frames (dynamic score {len(r['keyframes']) / max(1, n):.3f})")
    for s in r["shots"]:
        print(f"  shot {s['start_frame']}-{s['end_frame'] - 1}: {s['num_keyframes']} drawings, {s['timing']}")
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from toonset.io.probe import probe

    try:
        info = probe(args.video).as_dict()
    except ToonsetError as exc:
        if args.json:
            _print_json({"path": args.video, "error": exc.kind, "message": str(exc)})
            return 1
        raise UsageError(f"{args.video}: {exc}") from exc
    if args.json:
        _print_json(info)
    else:
        for k, v in info.items():
            print(f"{k:18} {v}")
    return 0


# ---------------------------------------------------------------------------- parser
def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="toonset",
        description="Turn hand-drawn animation into clean, annotated, training-ready datasets.",
        epilog=EPILOG,
    )
    p.add_argument("--version", action="version", version=f"toonset {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    b = sub.add_parser("build", help="analyse videos into a dataset (resumable)",
                       description="Probe, decode once, split into shots, time the drawings, and write a "
                       "dataset. Re-running the same command resumes an interrupted build.")
    b.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="video file, folder (recursive), glob, text file listing paths, or folder of frames")
    b.add_argument("-o", "--output", required=True, metavar="DATASET", help="output dataset folder")
    b.add_argument("--workers", type=int, default=None, help="worker processes (default: number of CPUs)")
    b.add_argument("--config", metavar="TOML", help="settings file (see docs/config.md)")
    b.add_argument("--fps", type=float, default=None, help="frame rate of folders of image frames")
    b.add_argument("--no-media", action="store_true",
                   help="store no clip video (clips are read back from the sources, frame-accurately); "
                   "tables and keyframe pictures are the same as with media")
    b.add_argument("--media-mode", choices=["encode", "reference"],
                   help="encode: each clip re-encoded into its shard (default, media.max_side px); reference: "
                   "no pixels, a clip is its source and frame range")
    b.add_argument("--annotate", metavar="NAMES", default="",
                   help="then run these annotators (as toonset annotate --with NAMES; settings from the "
                   "[annotate.<name>] tables of --config)")
    b.add_argument("--no-keyframes", action="store_true",
                   help="store no keyframe pictures (annotators then decode the clip media or the sources)")
    b.add_argument("--method", choices=["classical", "transnetv2", "ensemble"], help="shot detector")
    b.add_argument("--executor", default="local", choices=["local", "inline", "ray"],
                   help="where tasks run: local processes (default), inline (debug), ray (cluster)")
    b.add_argument("--address", default=None,
                   help="with --executor ray: the cluster to join ('auto' or host:port); "
                   "default: a private single-node instance on 127.0.0.1 (see docs/scale.md)")
    b.add_argument("--overwrite", action="store_true", help="discard an existing (partial) build in DATASET")
    b.add_argument("--json", action="store_true", help="print the summary as JSON")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_build)

    s = sub.add_parser("synth", help="generate synthetic cartoons with ground truth",
                       description="Write encoded h264 cartoons (cuts, fades, dissolves, flashes, holds, "
                       "pans, text, noise) with a ground-truth JSON beside each video.")
    s.add_argument("output", metavar="OUT", help="folder for the videos")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--count", type=int, default=4, help="number of videos")
    s.add_argument("--width", type=int)
    s.add_argument("--height", type=int)
    s.add_argument("--crf", type=int, help="x264 quality (compression noise)")
    s.add_argument("--grain", type=float, help="film grain strength (8-bit levels)")
    s.add_argument("--weave", type=float, help="gate weave in pixels")
    s.add_argument("--stress", action="store_true",
                   help="add the in-shot cases detectors get wrong on real footage (none is a cut): dark "
                   "full-frame occlusion sweeps, impact runs mixing white/black frames with speed lines over "
                   "the scene, lighting changes, fire, smear frames and a shot moving smoothly on ones; the "
                   "truth lists them under 'events'")
    s.add_argument("--mono", action="store_true", help="black-and-white film (every frame grey)")
    s.add_argument("--flicker", type=float,
                   help="film flicker: std-dev of a random per-frame brightness gain (e.g. 0.03)")
    s.add_argument("--bars", choices=["pillarbox", "letterbox"],
                   help="show the picture between black bars, 12%% of the width (height) each side")
    s.add_argument("--uniform", action="store_true", help="same settings for every video (no variation)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_synth)

    i = sub.add_parser("inspect", help="summarise a built dataset")
    i.add_argument("dataset", metavar="DATASET")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_inspect)

    for name, func, helptext in (("shots", cmd_shots, "shot boundaries of one video"),
                                 ("timing", cmd_timing, "new drawings and holds of one video")):
        c = sub.add_parser(name, help=helptext)
        c.add_argument("video", metavar="VIDEO", help="video file or folder of frames")
        c.add_argument("--json", action="store_true")
        c.add_argument("--config", metavar="TOML")
        c.add_argument("--fps", type=float, default=None, help="frame rate of a folder of frames")
        c.add_argument("--method", choices=["classical", "transnetv2", "ensemble"], help="shot detector")
        c.set_defaults(func=func)

    pr = sub.add_parser("probe", help="describe a video's streams without decoding it")
    pr.add_argument("video", metavar="VIDEO")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=cmd_probe)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (UsageError, MissingExtraError) as exc:
        print(f"toonset: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("toonset: interrupted (re-run the same command to resume)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
