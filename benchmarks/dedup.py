"""Near-duplicate benchmark: precision and recall of ``toonset dedup`` on look-alikes, copies and Popeye.

    .venv/bin/python benchmarks/dedup.py [--families 8] [--members 4] [--copies-of 2] [--popeye] [--json out.json]

* **Look-alikes** (``toonset.synth.lookalike``): families that share one background and one character
  design; each member is different animation. Copies of some members: crf 34 re-encode, half size,
  29.97 fps pulldown, re-mux. Truth: two clips are duplicates exactly when they show the same member.
* **Popeye** (``../shared/realdata/popeye-1936-loc``): the dev excerpt (``DEV_TITLE``; the other titles are
  evaluation-only, see ``../shared/EVALUATION.md``) at 24 fps 1440x1074 (pgs) and 29.97 fps 720x478 (vob).
  Truth: a pgs clip and a vob clip of the same title are duplicates when their time ranges overlap by more
  than half of the shorter one.

Pairs are counted within duplicate groups (every two members of one group form a predicted pair).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from common import REALDATA
from toonset import open_dataset
from toonset.config import BuildConfig
from toonset.curate.dedup import dedup_dataset
from toonset.curate.neardup import NearDupParams, group_hashes, score_pair
from toonset.run import build_dataset
from toonset.synth.lookalike import write_lookalike_set


def predicted_pairs(ds) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for cid, orig in zip(ds.clips["clip_id"].to_pylist(), ds.clips["duplicate_of"].to_pylist()):
        if orig:
            groups.setdefault(orig, {orig}).add(cid)
    return {frozenset(p) for g in groups.values() for p in itertools.combinations(sorted(g), 2)}


def prf(pred: set, truth: set) -> dict[str, float]:
    tp = len(pred & truth)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(truth) if truth else 1.0
    return {"pairs_predicted": len(pred), "pairs_true": len(truth), "true_positives": tp,
            "precision": round(p, 4), "recall": round(r, 4)}


def build(inputs: list[str], out: Path) -> None:
    cfg = BuildConfig()
    cfg.executor.sources_per_task = 1
    if not (out / "dataset.json").exists():
        build_dataset(inputs, out, cfg, workers=2, media=False)


def lookalikes(cache: Path, families: int, members: int, copies_of: int, params: NearDupParams) -> dict:
    folder = cache / f"lookalike-{families}-{members}-{copies_of}"
    if not (folder / "videos" / "done").exists():
        made = write_lookalike_set(folder / "videos", families, members, copies_of)
        (folder / "videos" / "truth.json").write_text(json.dumps({c.path.name: c.animation for c in made}))
        (folder / "videos" / "done").write_text("ok")
    truth_by_name = {k: tuple(v) for k, v in json.loads((folder / "videos" / "truth.json").read_text()).items()}
    build([str(folder / "videos")], folder / "ds")
    t0 = time.perf_counter()
    summary = dedup_dataset(folder / "ds", params)
    seconds = time.perf_counter() - t0
    ds = open_dataset(folder / "ds")
    paths = dict(zip(ds.sources["source_id"].to_pylist(), ds.sources["path"].to_pylist()))
    anim = {cid: truth_by_name[Path(paths[sid]).name]
            for cid, sid in zip(ds.clips["clip_id"].to_pylist(), ds.clips["source_id"].to_pylist())}
    truth = {frozenset((a, b)) for a, b in itertools.combinations(sorted(anim), 2) if anim[a] == anim[b]}
    lookalike_pairs = {frozenset((a, b)) for a, b in itertools.combinations(sorted(anim), 2)
                       if anim[a][0] == anim[b][0] and anim[a] != anim[b]}
    pred = predicted_pairs(ds)
    # score margin: every pair within a family, scored directly (no LSH), dup vs look-alike
    kf = ds.keyframes.select(["clip_id", "phash", "fg_phash"])
    hashes = {h.clip_id: h for h in group_hashes(kf["clip_id"].to_pylist(), kf["phash"].to_pylist(),
                                                   kf["fg_phash"].to_pylist())}
    dup_scores, alike_scores = [], []
    for pair in truth | lookalike_pairs:
        a, b = sorted(pair)
        s = score_pair(hashes[a], hashes[b], params).score
        (dup_scores if pair in truth else alike_scores).append(s)
    out = prf(pred, truth)
    out.update({
        "clips": len(anim), "families": families, "members": members, "copies_of": copies_of,
        "lookalike_pairs": len(lookalike_pairs), "lookalike_false_positives": len(pred & lookalike_pairs),
        "min_score_true_dup": round(min(dup_scores), 3) if dup_scores else None,
        "max_score_lookalike": round(max(alike_scores), 3) if alike_scores else None,
        "dedup_seconds": round(seconds, 3), "candidate_pairs": summary["candidate_pairs"],
    })
    return out


DEV_TITLE = "Title_T03-4.mkv"  # the Popeye title that may be tuned on; the others are evaluation-only


def popeye(cache: Path, params: NearDupParams) -> dict:
    root = REALDATA / "popeye-1936-loc"
    if not root.is_dir():
        return {"skipped": f"{root} is absent"}
    out = cache / "popeye-dev-ds"
    build([str(root / "pgs" / DEV_TITLE), str(root / "vob" / DEV_TITLE)], out)
    summary = dedup_dataset(out, params)
    ds = open_dataset(out)
    src = {s["source_id"]: s for s in ds.sources.to_pylist()}
    clips = ds.clips.to_pylist()
    truth = set()
    for a, b in itertools.combinations(clips, 2):
        sa, sb = src[a["source_id"]], src[b["source_id"]]
        if Path(sa["path"]).name != Path(sb["path"]).name or sa["path"] == sb["path"]:
            continue
        overlap = min(a["end_time"], b["end_time"]) - max(a["start_time"], b["start_time"])
        shorter = min(a["end_time"] - a["start_time"], b["end_time"] - b["start_time"])
        if overlap > 0.5 * shorter:
            truth.add(frozenset((a["clip_id"], b["clip_id"])))
    version = {c["clip_id"]: Path(src[c["source_id"]]["path"]).parent.name for c in clips}
    pairs = ds.table("duplicates").to_pylist()
    direct = {frozenset((p["clip_id"], p["other_clip_id"])) for p in pairs}
    cross = {p for p in direct if len({version[c] for c in p}) == 2}
    dur = {c["clip_id"]: c["end_time"] - c["start_time"] for c in clips}
    long_truth = {p for p in truth if min(dur[c] for c in p) >= 1.0}
    # per title: share of the 24 fps version's duration in clips that found their 29.97 fps copy
    found = {c for p in cross for c in p}
    coverage = {}
    for c in clips:
        s = src[c["source_id"]]
        if version[c["clip_id"]] == "pgs":
            name = Path(s["path"]).name
            tot, hit = coverage.get(name, (0.0, 0.0))
            coverage[name] = (tot + dur[c["clip_id"]], hit + (dur[c["clip_id"]] if c["clip_id"] in found else 0.0))
    return {
        "clips": len(clips), "dedup_seconds": summary["elapsed_s"],
        "cross_version_pairs": prf(cross, truth),
        "cross_version_pairs_clips_1s_or_longer": {"recall": prf(cross, long_truth)["recall"],
                                                  "pairs_true": len(long_truth)},
        "same_version_pairs": len(direct - cross),
        "groups_closure": prf(predicted_pairs(ds), truth),
        "pgs_duration_matched": {k: round(h / t, 3) for k, (t, h) in sorted(coverage.items())},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", type=int, default=8)
    ap.add_argument("--members", type=int, default=4)
    ap.add_argument("--copies-of", type=int, default=2, help="members per family that get copy variants")
    ap.add_argument("--popeye", action="store_true", help="also run on the dev Popeye title's 24/29.97 fps pair")
    ap.add_argument("--cache", default=str(Path(__file__).resolve().parent / "results" / "dedup-cache"))
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    params = NearDupParams()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    results = {"params": params.as_dict(),
               "lookalike": lookalikes(cache, args.families, args.members, args.copies_of, params)}
    if args.popeye:
        results["popeye"] = popeye(cache, params)
    print(json.dumps(results, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
