"""Peak memory of a build worker on a long 1080p video: it must stay flat (< 1.5 GiB) however long the video.

    .venv/bin/python benchmarks/memory.py [--minutes 31] [--cache benchmarks/results/cache] [--json out.json]

Makes a ≥30 min 1080p h264 video cheaply: a ~30 s synthetic cartoon segment (cuts, fades, holds, pans) is
encoded once, then its packets are repeated with shifted timestamps into one long mp4 (a remux, no
re-encode). ``toonset build`` runs on it with one worker, tables only and with clip media, while a sampler
reads every process of the build from /proc: the peak resident set (``VmHWM``) of the worker and of the
parent, and the worker's RSS over time (flat = nothing grows with the length of the video). Also prints
the CPU time per million frames (all processes of the build, user + system).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from common import REPO

GIB = 1024**3


def make_segment(path: Path, seconds: float) -> Path:
    from toonset.synth import SynthOptions
    from toonset.synth.generate import generate_video

    if path.exists():
        return path
    shots = max(2, round(seconds * 24 / 60))
    opts = SynthOptions(width=1920, height=1080, num_shots=shots, min_shot_frames=36, max_shot_frames=84)
    generate_video(path, seed=2024, options=opts)
    return path


def repeat_remux(segment: Path, out: Path, minutes: float) -> tuple[Path, int]:
    """Concatenate copies of ``segment``'s video packets (timestamps shifted) up to ``minutes``; no re-encode."""
    import av

    with av.open(str(segment)) as src:
        stream = src.streams.video[0]
        packets = [(p.pts, p.dts, p.duration, p.is_keyframe, bytes(p)) for p in src.demux(stream) if p.size]
        tb = stream.time_base
    seg_len = max(p[0] for p in packets) + (packets[-1][2] or 1) - min(p[0] for p in packets)
    copies = int(minutes * 60 / float(seg_len * tb)) + 1
    frames = 0
    if out.exists():
        with av.open(str(out)) as c:
            return out, int(c.streams.video[0].frames)
    tmp = out.with_name(f".{out.name}.partial.mp4")
    with av.open(str(segment)) as src, av.open(str(tmp), "w", format="mp4") as dst:
        ost = dst.add_stream_from_template(src.streams.video[0])
        for k in range(copies):
            for pts, dts, dur, key, data in packets:
                pkt = av.Packet(data)
                pkt.pts, pkt.dts = pts + k * seg_len, (dts if dts is not None else pts) + k * seg_len
                pkt.duration, pkt.is_keyframe, pkt.time_base = dur, key, tb
                pkt.stream = ost
                dst.mux(pkt)
                frames += 1
    os.replace(tmp, out)
    return out, frames


def _tree(root: int) -> dict[int, str]:
    """pid -> role ('parent' or 'worker') of ``root`` and its descendants."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out = {root: "parent"}
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in out and pid not in out:
                out[pid], changed = "worker", True
    return out


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure_build(video: Path, out: Path, media: bool, workers: int = 1, period: float = 0.25) -> dict:
    cmd = [sys.executable, "-m", "toonset", "build", str(video), "-o", str(out), "--workers", str(workers),
           "--overwrite", "--json", "-q"]
    if not media:
        cmd.append("--no-media")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    peaks: dict[int, tuple[str, int]] = {}
    timeline: list[tuple[float, int]] = []  # (seconds, summed worker RSS in KiB)

    def sample() -> None:
        while proc.poll() is None:
            rss = 0
            for pid, role in _tree(proc.pid).items():
                hwm = _status_kb(pid, "VmHWM")
                if hwm:
                    peaks[pid] = (role, max(hwm, peaks.get(pid, (role, 0))[1]))
                if role == "worker":
                    rss += _status_kb(pid, "VmRSS")
            if rss:
                timeline.append((time.monotonic() - t0, rss))
            time.sleep(period)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    sampler.join()
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(stderr.decode(errors="replace")[-3000:])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = json.loads(stdout)
    frames = summary["counts"]["frames"]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    worker_peaks = [kb for role, kb in peaks.values() if role == "worker"]
    parent_peak = max((kb for role, kb in peaks.values() if role == "parent"), default=0)

    def rss_at(share: float) -> float:
        if not timeline:
            return 0.0
        t = share * timeline[-1][0]
        return min(timeline, key=lambda s: abs(s[0] - t))[1] / 1024

    return {
        "media": media, "workers": workers, "frames": frames, "duration_s": summary["duration_s"],
        "clips": summary["counts"]["clips"], "wall_s": round(wall, 1), "frames_per_s": round(frames / wall, 1),
        "cpu_s": round(cpu, 1), "cpu_s_per_million_frames": round(cpu / max(1, frames) * 1e6),
        "peak_rss_worker_mib": round(max(worker_peaks, default=0) / 1024, 1),
        "peak_rss_parent_mib": round(parent_peak / 1024, 1),
        "worker_rss_mib_at_10_50_90pct": [round(rss_at(s), 1) for s in (0.1, 0.5, 0.9)],
        "samples": len(timeline),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=31.0, help="length of the long video (default 31)")
    ap.add_argument("--segment-seconds", type=float, default=30.0)
    ap.add_argument("--cache", default=str(REPO / "benchmarks" / "results" / "cache"), help="where the videos are kept")
    ap.add_argument("--modes", default="tables,media", help="tables (--no-media), media, or both")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    segment = make_segment(cache / f"segment-1080p-{args.segment_seconds:g}s.mp4", args.segment_seconds)
    video, _ = repeat_remux(segment, cache / f"long-1080p-{args.minutes:g}min.mp4", args.minutes)
    import av

    with av.open(str(video)) as c:
        s = c.streams.video[0]
        info = {"path": str(video), "width": s.codec_context.width, "height": s.codec_context.height,
                "frames": int(s.frames), "fps": str(s.average_rate),
                "minutes": round(float(s.duration * s.time_base) / 60, 2) if s.duration else None,
                "size_mib": round(video.stat().st_size / 2**20, 1), "made_in_s": round(time.monotonic() - t0, 1)}
    print(f"video: {info}", flush=True)
    results = []
    for mode in args.modes.split(","):
        r = measure_build(video, cache / f"out-memory-{mode}", media=(mode == "media"))
        results.append(r)
        ok = "OK" if r["peak_rss_worker_mib"] * 2**20 < 1.5 * GIB else "OVER"
        print(f"{mode:6s} frames {r['frames']} in {r['wall_s']} s ({r['frames_per_s']} fps)  "
              f"peak RSS worker {r['peak_rss_worker_mib']} MiB [{ok} < 1536]  parent {r['peak_rss_parent_mib']} MiB  "
              f"worker RSS at 10/50/90% {r['worker_rss_mib_at_10_50_90pct']} MiB  "
              f"CPU {r['cpu_s_per_million_frames']} s per million frames", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"video": info, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
