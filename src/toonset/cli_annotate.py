"""Annotation verbs: ``annotate`` (run annotators over a built dataset) and ``search`` (clips by text).

Thin: parse, call ``toonset.annotate``, print. Registered by ``toonset.cli`` through ``COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
from typing import Any

from toonset.cli_curate import _bar, _print_json
from toonset.errors import UsageError


def load_annotate_settings(path: str | None) -> dict[str, dict[str, Any]]:
    """``[annotate.<name>]`` tables of a TOML file (other sections, e.g. a build's, are ignored)."""
    if not path:
        return {}
    from toonset.config import read_toml

    section = read_toml(path).get("annotate", {})
    if not isinstance(section, dict) or not all(isinstance(v, dict) for v in section.values()):
        raise UsageError(f"{path}: [annotate.<name>] tables expected")
    return section


def run_annotate(dataset: str, names: list[str], settings: dict[str, dict[str, Any]], workers: int | None,
                 executor: str, allow_decode: bool, quiet: bool, address: str | None = None,
                 clips_per_task: int = 32, retry_errors: bool = False) -> dict[str, Any]:
    from toonset.annotate.runner import annotate_dataset
    from toonset.executors.local import default_workers

    bar: dict[str, Any] = {}

    def on_event(kind: str, data: dict[str, Any]) -> None:
        if kind == "plan":
            bar["b"] = _bar(data["tasks"], "annotate", "task", quiet)
            bar["b"].update(data["tasks"] - data["todo"])
        elif kind == "task_done" and "b" in bar:
            bar["b"].update(1)

    try:
        return annotate_dataset(dataset, names, settings, workers=workers or default_workers(), executor=executor,
                                clips_per_task=clips_per_task, allow_decode=allow_decode, on_event=on_event,
                                ray_address=address, retry_errors=retry_errors)
    finally:
        if "b" in bar:
            bar["b"].close()


def print_annotate_summary(summary: dict[str, Any]) -> None:
    for name, info in summary["annotators"].items():
        print(f"{name} {info['version']}: {info['clips']} clips, {info['errors']} error(s), "
              f"{info['seconds']:.1f} s" + (f", model sha256 {info['model_sha256'][:12]}" if info["model_sha256"] else ""))
    print("tables: " + ", ".join(f"annotations/{t}.parquet ({n} rows)" for t, n in sorted(summary["tables"].items())))
    print(f"tasks: {summary['tasks']} ({summary['resumed_tasks']} already done)  time: {summary['elapsed_s']:.1f} s")


def cmd_annotate(args: argparse.Namespace) -> int:
    from toonset.store.dataset import open_dataset

    try:
        open_dataset(args.dataset)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from exc
    summary = run_annotate(args.dataset, args.with_.split(","), load_annotate_settings(args.config), args.workers,
                           args.executor, args.decode, args.quiet, args.address, args.clips_per_task,
                           args.retry_errors)
    if args.json:
        _print_json(summary)
    else:
        print_annotate_summary(summary)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from toonset.annotate.search import search_dataset

    hits = search_dataset(args.dataset, args.query, k=args.k, mode=args.mode)
    if args.json:
        _print_json(hits)
    else:
        for h in hits:
            print(f"{h['score']:.3f}  {h['clip_id']}  {h.get('text', '')[:100]}")
    return 0


def register(sub) -> None:
    a = sub.add_parser("annotate", help="add annotations (OCR, quality, tags, embeddings, captions …) to a dataset",
                       description="Run annotators over a built dataset; they read the stored keyframe pictures. "
                       "Resumable: re-running adds only what is missing; a new annotator version re-runs "
                       "only that annotator. Tables land in DATASET/annotations/ (see docs/annotations.md).")
    a.add_argument("dataset", metavar="DATASET")
    a.add_argument("--with", dest="with_", required=True, metavar="NAMES",
                   help="comma-separated annotators: ocr, quality, tags, embeddings, caption, taxonomy "
                   "(or package.module:ClassName)")
    a.add_argument("--config", metavar="TOML", help="settings in [annotate.<name>] tables (model paths, thresholds)")
    a.add_argument("--workers", type=int, default=None, help="worker processes (default: number of CPUs)")
    a.add_argument("--executor", default="local", choices=["local", "inline", "ray"])
    a.add_argument("--address", default=None, help="with --executor ray: the cluster to join")
    a.add_argument("--clips-per-task", type=int, default=32, help="resume granularity (default: 32 clips)")
    a.add_argument("--decode", action="store_true",
                   help="decode clips whose keyframe pictures were not stored (built with --no-keyframes)")
    a.add_argument("--retry-errors", action="store_true",
                   help="annotate again the clips that failed in an earlier run (their tasks are redone)")
    a.add_argument("--json", action="store_true")
    a.add_argument("-q", "--quiet", action="store_true")
    a.set_defaults(func=cmd_annotate)

    s = sub.add_parser("search", help="find clips by text (captions, tags, or image embeddings)",
                       description="Rank clips against a text query with the embeddings the 'embeddings' "
                       "annotator stored (see docs/annotators/embeddings.md).")
    s.add_argument("dataset", metavar="DATASET")
    s.add_argument("query")
    s.add_argument("-k", type=int, default=20, help="number of clips (default: 20)")
    s.add_argument("--mode", default="auto", choices=["auto", "image", "text"],
                   help="image: text→image with the stored CLIP/SigLIP vectors; text: text→text (MiniLM) over "
                   "captions, tags and on-screen text; auto: image when possible (default)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_search)
