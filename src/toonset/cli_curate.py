"""Curation verbs: ``fetch`` (booru, urls), ``dedup``, ``split``, ``filter``, ``export``.

Thin: parse, call ``toonset.ingest`` / ``toonset.curate`` / ``toonset.store.export``, print. Registered
by ``toonset.cli`` through ``COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from toonset.errors import UsageError


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=1, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def _bar(total: int | None, desc: str, unit: str, quiet: bool = False):
    """A tqdm bar on a terminal, a silent stand-in elsewhere."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=quiet or not sys.stderr.isatty(), dynamic_ncols=True)


def _progress(bar) -> Callable[[int, int], None]:
    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    return update


# ------------------------------------------------------------------------------------------- fetch
def _http(args: argparse.Namespace):
    from toonset.ingest.http import HttpClient

    if args.rate <= 0:
        raise UsageError("--rate must be a positive number of requests per second")
    if args.retries < 0:
        raise UsageError("--retries must be 0 or more")
    return HttpClient(rate=args.rate, burst=max(1, args.burst), retries=args.retries, timeout=args.timeout)


def _print_fetch(summary: dict[str, Any], out: str, as_json: bool) -> None:
    if as_json:
        _print_json({**summary, "output": out})
        return
    rejected = ", ".join(f"{k}={v}" for k, v in sorted(summary["rejected"].items())) or "none"
    print(f"{summary['query']}: {summary['downloaded']} downloaded, {summary['skipped_existing']} already there, "
          f"rejected: {rejected} ({summary['requests']} requests)")
    print(f"downloads: {out}" + ("" if summary["finished"] else "  (not finished: re-run to continue)"))


def cmd_fetch_booru(args: argparse.Namespace) -> int:
    from toonset.ingest.booru import BooruFetcher
    from toonset.ingest.optout import load_optout

    if args.page_size < 1 or args.limit < 0:
        raise UsageError("--page-size must be at least 1 and --limit 0 or more")
    bar = _bar(args.limit or None, "fetch", "post", args.quiet)

    def on_event(kind: str, data: dict[str, Any]) -> None:
        if kind in ("download", "reject"):
            bar.update(1)

    fetcher = BooruFetcher(args.site, args.tags, args.output, _http(args), load_optout(args.opt_out),
                           page_size=args.page_size, max_posts=args.limit,
                           lookup_tag_types=not args.no_tag_types, max_bytes=args.max_mb * 2**20,
                           on_event=on_event)
    try:
        summary = fetcher.run()
    finally:
        bar.close()
    _print_fetch(summary.as_dict(), args.output, args.json)
    return 0


def cmd_fetch_urls(args: argparse.Namespace) -> int:
    from toonset.ingest.urls import fetch_url_list

    summary = fetch_url_list(args.list, args.output, _http(args), max_bytes=args.max_mb * 2**20)
    _print_fetch(summary.as_dict(), args.output, args.json)
    return 0


def _http_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, metavar="DOWNLOADS", help="folder for media, sidecars, logs")
    p.add_argument("--rate", type=float, default=1.0, help="requests per second, sustained (default 1)")
    p.add_argument("--burst", type=int, default=1, help="requests allowed at once before the rate applies")
    p.add_argument("--retries", type=int, default=4, help="retries of a failed request, with backoff")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds before a silent connection fails")
    p.add_argument("--max-mb", type=int, default=0, help="refuse files larger than this (0: no limit)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


# --------------------------------------------------------------------------------- dedup / split
def cmd_dedup(args: argparse.Namespace) -> int:
    from toonset.curate.dedup import dedup_dataset
    from toonset.curate.neardup import NearDupParams

    if not 0 < args.min_share <= 1 or args.radius < 0 or args.fg_radius < 0:
        raise UsageError("--min-share must be in (0, 1] and the radii 0 or more")
    params = NearDupParams(radius=args.radius, fg_radius=args.fg_radius, min_share=args.min_share,
                           containment=args.containment)
    bar = _bar(None, "dedup", "pair", args.quiet)
    try:
        summary = dedup_dataset(args.dataset, params, _progress(bar))
    finally:
        bar.close()
    if args.json:
        _print_json(summary)
    else:
        print(f"{summary['duplicates']} of {summary['clips']} clips repeat another "
              f"({summary['exact_pairs']} exact, {summary['near_pairs']} near pairs; "
              f"{summary['candidate_pairs']} candidates checked) in {summary['elapsed_s']:.1f} s")
        print("marked in clips.parquet (duplicate_of); pairs in duplicates.parquet")
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    from toonset.curate.split import check_splits, parse_ratios, split_dataset

    if args.check:
        report = check_splits(args.dataset, args.by)
        if args.json:
            _print_json(report)
        else:
            for v in report["violations"][:50]:
                print(f"leak: {v}")
            more = len(report["violations"]) - 50
            if more > 0:
                print(f"... and {more} more")
            print(f"splits by {report['by']}: " + ("OK, no leaks" if report["ok"] else
                                                   f"{len(report['violations'])} violation(s)"))
        return 0 if report["ok"] else 1
    summary = split_dataset(args.dataset, args.by or "source", parse_ratios(args.ratios), args.seed)
    if args.json:
        _print_json(summary)
    else:
        print(f"split by {summary['by']} into {summary['components']} leak-free group(s):")
        for name, c in summary["splits"].items():
            print(f"  {name:5} {c['clips']:7d} clips ({c['clip_share']:.1%})  {c['frames']} frames")
    return 0


# -------------------------------------------------------------------------------- filter / export
def cmd_filter(args: argparse.Namespace) -> int:
    from toonset.curate.filter import filter_dataset

    bar = _bar(None, "filter", "clip", args.quiet)
    try:
        summary = filter_dataset(args.dataset, args.where, args.output, overwrite=args.overwrite,
                                 progress=lambda n: bar.update(n - bar.n))
    finally:
        bar.close()
    if args.json:
        _print_json(summary)
    else:
        print(f"{summary['clips']} clips kept, {summary['clips_dropped']} left out "
              f"({summary['sources']} sources, {summary['shards']} shards) -> {summary['output']}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from toonset.store.export import export_dataset

    bar = _bar(None, "export", "clip", args.quiet)
    try:
        summary = export_dataset(args.dataset, args.format, args.output, media=not args.no_media,
                                 shard_size=args.shard_size, overwrite=args.overwrite, progress=_progress(bar))
    finally:
        bar.close()
    if args.json:
        _print_json(summary)
    else:
        print(f"exported {summary['clips']} clips as {summary['format']} -> {summary['output']}")
    return 0


# ------------------------------------------------------------------------------------------ parser
def register(sub: argparse._SubParsersAction) -> None:
    f = sub.add_parser("fetch", help="download media with provenance (Moebooru boorus, URL lists)",
                       description="Download videos into a DOWNLOADS folder with a provenance sidecar "
                       "(<file>.toonset.json) per file, politely and resumably; 'toonset build DOWNLOADS' "
                       "carries the provenance into sources.parquet.")
    fsub = f.add_subparsers(dest="source_kind", metavar="KIND")
    fsub.required = True
    b = fsub.add_parser("booru", help="posts of a Moebooru site (e.g. Sakugabooru) matching tags",
                        description="Page through GET SITE/post.json?tags=..., apply the opt-out list, download "
                        "each video, check its md5, and keep post id, typed tags, artist, copyright, rating and "
                        "source URL. Rejects go to DOWNLOADS/rejects.jsonl; re-run to resume.")
    b.add_argument("--site", required=True, help="the booru's base URL, e.g. https://www.sakugabooru.com")
    b.add_argument("--tags", required=True, help='booru search, e.g. "animated effects"')
    b.add_argument("--limit", type=int, default=0, help="stop after this many posts (0: all)")
    b.add_argument("--page-size", type=int, default=100, help="posts per API page (default 100)")
    b.add_argument("--opt-out", metavar="FILE", help="post:ID / artist:NAME / tag:NAME / copyright:NAME lines")
    b.add_argument("--no-tag-types", action="store_true", help="skip tag.json look-ups (tags stay untyped)")
    _http_options(b)
    b.set_defaults(func=cmd_fetch_booru)
    u = fsub.add_parser("urls", help="a text file of http(s) URLs (optionally 'URL md5' per line)")
    u.add_argument("list", metavar="LIST", help="text file: one URL per line, optional md5 after it, # comments")
    _http_options(u)
    u.set_defaults(func=cmd_fetch_urls)

    d = sub.add_parser("dedup", help="mark exact and near-duplicate clips (duplicate_of)",
                       description="Find clips with the same decoded content, and clips with the same drawings "
                       "(re-uploads, re-encodes, other sizes and frame rates) from the keyframe pHashes made "
                       "during build. Marks clips.parquet's duplicate_of (null for originals) and lists the "
                       "pairs in duplicates.parquet; nothing is deleted.")
    d.add_argument("dataset", metavar="DATASET")
    d.add_argument("--radius", type=int, default=12, help="pHash bits two matching drawings may differ by")
    d.add_argument("--fg-radius", type=int, default=14, help="same for the moving part (foreground pHash)")
    d.add_argument("--min-share", type=float, default=0.7, help="share of drawings of each clip that must match")
    d.add_argument("--containment", action="store_true",
                   help="also call a clip a duplicate when it is contained in a longer one")
    d.add_argument("--json", action="store_true")
    d.add_argument("-q", "--quiet", action="store_true")
    d.set_defaults(func=cmd_dedup)

    s = sub.add_parser("split", help="leak-free train/val/test splits by source or series",
                       description="Write a split column (train/val/test) to clips and sources. Whole sources "
                       "(or series) go to one split, joined with their duplicates first, by a deterministic "
                       "hash. --check proves that no source, series or duplicate pair spans two splits "
                       "(exit 1 when one does).")
    s.add_argument("dataset", metavar="DATASET")
    s.add_argument("--by", choices=["source", "series"], default=None,
                   help="group by source video (default) or by series (booru copyright tags)")
    s.add_argument("--ratios", default="0.9,0.05,0.05", help="train,val,test shares (default 0.9,0.05,0.05)")
    s.add_argument("--seed", default="", help="salt of the hash (another seed, another split)")
    s.add_argument("--check", action="store_true", help="verify the existing split instead of writing one")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_split)

    fl = sub.add_parser("filter", help="keep the clips matching a SQL predicate, as a new dataset",
                        description="Run SELECT clips.clip_id FROM clips JOIN sources USING (source_id) "
                        "WHERE <predicate> with DuckDB and write the matching clips as a new dataset (tables "
                        "and shards). Columns of both tables can be used; qualify shared names (clips.split).")
    fl.add_argument("dataset", metavar="DATASET")
    fl.add_argument("--where", required=True, metavar="SQL",
                    help="predicate, e.g. \"dynamic_score > 0.2 AND duplicate_of IS NULL\"")
    fl.add_argument("-o", "--output", required=True, metavar="SUBSET", help="new dataset folder")
    fl.add_argument("--overwrite", action="store_true", help="replace SUBSET if it exists")
    fl.add_argument("--json", action="store_true")
    fl.add_argument("-q", "--quiet", action="store_true")
    fl.set_defaults(func=cmd_filter)

    e = sub.add_parser("export", help="write the dataset for other tools (Sakuga-42M, WebDataset, Parquet, HF)",
                       description="sakuga42m: one .parquet with the published Sakuga-42M columns plus toonset's; "
                       "parquet: one .parquet row per clip with its MP4; webdataset: a folder of "
                       "<split>-NNNNN.tar; hf: a folder that datasets.load_dataset() opens.")
    e.add_argument("dataset", metavar="DATASET")
    e.add_argument("--format", required=True, choices=["sakuga42m", "parquet", "webdataset", "hf"])
    e.add_argument("-o", "--output", required=True, metavar="OUT", help="a .parquet file or a folder")
    e.add_argument("--no-media", action="store_true", help="metadata only (no MP4 bytes)")
    e.add_argument("--shard-size", type=int, default=1000, help="clips per WebDataset tar")
    e.add_argument("--overwrite", action="store_true")
    e.add_argument("--json", action="store_true")
    e.add_argument("-q", "--quiet", action="store_true")
    e.set_defaults(func=cmd_export)
