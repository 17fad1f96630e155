"""Clip media quality and size: build with the media defaults, then compare every clip with its source.

    .venv/bin/python benchmarks/media_quality.py [--set real|synthetic|both] [--workers 2] [--json PATH]

For every clip of every source: the clip's ``.mp4`` is decoded and its luma compared, frame by frame, with
the source's frames scaled the same way (``io.frames.resize_plane`` to the clip's size, the encoder's own
scaling) — the loss the re-encode adds. The clip's mean luma PSNR is the figure (issue floor: 38 dB for
every clip); frame counts and frame times (relative to the clip start, against the source PTS) are checked
exactly. Also reported: bytes per frame and the keyframe pictures' share of the shards.

The sets are those of ``benchmarks/throughput.py`` (speed figures come from there, not from here).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from common import real_and_synthetic_sets
from throughput import REAL_FILES


def _luma(frame) -> np.ndarray:
    from toonset.io.frames import plane_array

    return plane_array(frame.planes[0])


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 99.0 if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def check_source(ds, src: dict, clips: list[dict]) -> list[dict]:
    """Per clip of one source: frames, exact times, mean/min luma PSNR against the scaled source frames."""
    import av

    from toonset.io.frames import resize_plane, upright
    from toonset.store.shards import read_member

    out = []
    by_start = {c["start_frame"]: c for c in clips}
    with av.open(src["path"]) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        current = None
        for i, f in enumerate(c.decode(stream)):
            if current is not None and i >= current["end"]:
                out.append(current["result"]())
                current = None
            if current is None and i in by_start:
                clip = by_start[i]
                data = read_member(ds.members(clip["clip_id"])["mp4"])
                mp4 = av.open(io.BytesIO(data))
                frames = mp4.decode(video=0)
                stats = {"psnr": [], "times": [], "src_times": [], "size": None, "bytes": len(data)}

                def result(clip=clip, stats=stats, mp4=mp4, frames=frames):
                    extra = sum(1 for _ in frames)
                    mp4.close()
                    rel = np.array(stats["src_times"]) - stats["src_times"][0]
                    return {"clip_id": clip["clip_id"], "frames": clip["num_frames"],
                            "decoded": len(stats["psnr"]) + extra,
                            "times_exact": bool(np.allclose(stats["times"], rel, atol=1e-3)),
                            "psnr_mean": float(np.mean(stats["psnr"])), "psnr_min": float(np.min(stats["psnr"])),
                            "bytes_per_frame": stats["bytes"] / clip["num_frames"], "size": stats["size"]}

                current = {"end": clip["end_frame"], "frames": frames, "stats": stats, "result": result}
            if current is None:
                continue
            try:
                g = next(current["frames"])
            except StopIteration:
                current["stats"]["psnr"].append(0.0)
                continue
            rot = round((f.rotation or 0) / 90.0) * 90 % 360
            cw, ch = (g.height, g.width) if rot % 180 else (g.width, g.height)
            ref = upright(resize_plane(_luma(f), cw, ch), rot)
            st = current["stats"]
            st["psnr"].append(_psnr(_luma(g), ref))
            st["times"].append(float(g.time))
            st["src_times"].append(float(f.time))
            st["size"] = f"{g.width}x{g.height}"
        if current is not None:
            out.append(current["result"]())
    return out


def run_set(name: str, files: list[Path], workers: int) -> dict:
    from toonset import open_dataset
    from toonset.config import BuildConfig
    from toonset.run import build_dataset

    tmp = Path(tempfile.mkdtemp(prefix="toonset-mq-"))
    cfg = BuildConfig()
    cfg.executor.sources_per_task = 1
    build_dataset([str(f) for f in files], tmp / "ds", cfg, workers=workers)
    ds = open_dataset(tmp / "ds")
    clips = ds.df("clips").to_dict("records")
    results = []
    for src in ds.df("sources").to_dict("records"):
        mine = [c for c in clips if c["source_id"] == src["source_id"]]
        if mine:
            results.extend(check_source(ds, src, mine))
    sizes = {"mp4": 0, "kf": 0, "json": 0}
    for shard in ds.shards:
        with tarfile.open(shard) as tar:
            for m in tar:
                kind = "mp4" if m.name.endswith(".mp4") else "kf" if ".kf." in m.name else "json"
                sizes[kind] += m.size
    psnr = np.array([r["psnr_mean"] for r in results])
    frames = sum(r["frames"] for r in results)
    summary = {
        "set": name, "sources": len(files), "clips": len(results), "frames": frames,
        "frames_exact": all(r["decoded"] == r["frames"] for r in results),
        "times_exact": all(r["times_exact"] for r in results),
        "clip_psnr_mean": round(float(psnr.mean()), 2), "clip_psnr_min": round(float(psnr.min()), 2),
        "clip_psnr_p5": round(float(np.percentile(psnr, 5)), 2),
        "clips_below_38db": int((psnr < 38.0).sum()),
        "media_kb_per_frame": round(sizes["mp4"] / max(1, frames) / 1e3, 2),
        "keyframe_pictures_kb_per_frame": round(sizes["kf"] / max(1, frames) / 1e3, 2),
        "worst": sorted(results, key=lambda r: r["psnr_mean"])[:3],
    }
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="both", choices=["real", "synthetic", "both"])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--synthetic", type=int, default=12)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--cache", default=str(Path(__file__).resolve().parent / "results"))
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    sets = real_and_synthetic_sets(args.set, REAL_FILES, args.synthetic, args.seed, Path(args.cache), args.size)
    results = [run_set(name, files, args.workers) for name, files in sets]
    print(f"machine: {os.cpu_count()} CPUs; media defaults (see docs/config.md)")
    print("\n| set | clips | frames | frame counts / times exact | clip luma PSNR mean | 5th pct | min | "
          "clips < 38 dB | media kB/frame | keyframe pictures kB/frame |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['set']} ({r['sources']} files) | {r['clips']} | {r['frames']} | {r['frames_exact']} / "
              f"{r['times_exact']} | {r['clip_psnr_mean']} | {r['clip_psnr_p5']} | {r['clip_psnr_min']} | "
              f"{r['clips_below_38db']} | {r['media_kb_per_frame']} | {r['keyframe_pictures_kb_per_frame']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
