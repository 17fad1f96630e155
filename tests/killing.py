"""Kill -9 a ``toonset build`` again and again, then resume it; compare datasets table by table and byte by byte.

Kill times are drawn relative to a measured uninterrupted run and shrink with the work left (counted from
the completion markers), so kills land everywhere — during start-up, mid-task, while outputs are being
written, during finalize — and each cycle stays short however many cycles a test asks for.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

TABLES = ("sources", "clips", "keyframes", "errors", "filtered")


def start_build(inputs: Path, out: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``toonset build`` in its own session (so the CLI and its local workers die together). Its temp
    directory is beside ``out``: a SIGKILL of the whole group also kills the fork server before it can
    remove its socket folder, and that is the test's mess to keep, not the machine's."""
    temp = out.parent / "tmp"
    temp.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "toonset", "build", str(inputs), "-o", str(out), "-q", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        env={**os.environ, "TMPDIR": str(temp), **(env or {})},
    )


@dataclass
class Timing:
    total_s: float  # an uninterrupted run, start to exit
    first_done_s: float  # until the first completion marker: start-up plus one task


def run_build(inputs: Path, out: Path, *extra: str, env: dict[str, str] | None = None) -> Timing:
    """Run a build to the end, timing it and its first completed task."""
    t0 = time.monotonic()
    first = 0.0
    p = start_build(inputs, out, *extra, env=env)
    while p.poll() is None:
        if not first and done_markers(out):
            first = time.monotonic() - t0
        time.sleep(0.02)
    total = time.monotonic() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    assert p.returncode == 0, err[-3000:]
    return Timing(total, first or total)


def decoded_frames(data: bytes) -> list[tuple[int, object]]:
    """(PTS, yuv420p array) of every frame an MP4 decodes to."""
    import io

    import av

    with av.open(io.BytesIO(data)) as c:
        return [(frame.pts, frame.to_ndarray()) for frame in c.decode(c.streams.video[0])]


# x264 re-encodes clip media. Runs of the same input have been seen to differ in one macroblock (a corner of
# the picture off by up to 2 levels from one frame on, or trailing bits that decode identically); the cause
# is not found yet (see CHANGELOG). Clip media must match frame for frame and timestamp for timestamp, and
# the pictures within this much; everything else in a shard must match byte for byte.
MEDIA_MAX_LEVELS = 4
MEDIA_MAX_SHARE = 0.01  # of the samples of a frame that may differ at all


def assert_same_media(name: str, got: bytes, want: bytes) -> None:
    a, b = decoded_frames(got), decoded_frames(want)
    assert [t for t, _ in a] == [t for t, _ in b], f"{name}: different frames or timestamps"
    for (t, x), (_, y) in zip(a, b):
        assert x.shape == y.shape, f"{name}: frame {t} has another size"
        diff = abs(x.astype("int16") - y.astype("int16"))
        assert int(diff.max()) <= MEDIA_MAX_LEVELS and float((diff > 0).mean()) <= MEDIA_MAX_SHARE, (
            f"{name}: frame {t} differs (max {int(diff.max())} levels, {float((diff > 0).mean()):.2%} of samples)")


def snapshot(out: Path) -> dict:
    """Every table, and for every member of every shard its name, sha256 and (clip media) its bytes."""
    snap: dict = {name: pq.read_table(out / f"{name}.parquet") for name in TABLES}
    shards = {}
    for shard in sorted((out / "shards").glob("*.tar")):
        members = []
        with tarfile.open(shard) as tar:
            for m in tar:
                if m.isfile():
                    data = tar.extractfile(m).read()
                    members.append((m.name, hashlib.sha256(data).hexdigest(), data if m.name.endswith(".mp4") else b""))
        shards[shard.name] = members
    snap["shards"] = shards
    return snap


def assert_same_dataset(got: dict, want: dict) -> None:
    """Tables equal; shards hold the same members in the same order, metadata byte for byte, clip media
    byte for byte or (see ``MEDIA_MAX_LEVELS``) the same frames and timestamps with near-equal pictures."""
    for name in TABLES:
        assert got[name].equals(want[name]), f"{name} differs"
    assert sorted(got["shards"]) == sorted(want["shards"]), "different shard files"
    for shard, members in got["shards"].items():
        names = [m[0] for m in members]
        assert names == [m[0] for m in want["shards"][shard]], f"{shard}: different members or order"
        for (name, sha, data), (_, want_sha, want_data) in zip(members, want["shards"][shard]):
            if sha == want_sha:
                continue
            assert name.endswith(".mp4"), f"{shard}/{name} differs"
            assert_same_media(f"{shard}/{name}", data, want_data)
    clip_ids = got["clips"].column("clip_id").to_pylist()
    assert len(clip_ids) == len(set(clip_ids)), "a clip is doubled"
    members = [m[0] for ms in got["shards"].values() for m in ms]
    assert len(members) == len(set(members)), "a shard member is doubled"


def done_markers(out: Path) -> int:
    tdir = out / "_tasks"
    return len(list(tdir.glob("*.done"))) if tdir.is_dir() else 0


@dataclass
class KillLog:
    kills: int = 0
    cycles: list[tuple[float, int, int]] = field(default_factory=list)  # (delay, markers before, after)

    @property
    def progressed(self) -> int:
        return sum(1 for _, a, b in self.cycles if b > a)


def kill_cycles(inputs: Path, out: Path, *extra: str, kills: int, reference: Timing, noop_s: float, tasks: int,
                workers: int, seed: int = 1234, env: dict[str, str] | None = None) -> KillLog:
    """Start and ``kill -9`` the build ``kills`` times at random moments (runs that finish first don't count).

    Each moment is drawn relative to the measured uninterrupted run: with probability 1/2 anywhere in
    start-up and the first task (``first_done_s``), otherwise after 1 or 2 more tasks completed plus a random
    share of one task's time. Once every task is done, anywhere within ``noop_s`` (a run with nothing left to
    do but finalize). Progress is spread over the cycles, and kills land in start-up, inside tasks, while
    outputs are written, in finalize and in runs that have nothing left to do.
    """
    rng = random.Random(seed)
    log = KillLog()
    per_task = max(0.05, (reference.total_s - reference.first_done_s) * workers / max(1, tasks - workers))
    for _ in range(kills * 5):
        if log.kills >= kills:
            break
        before = done_markers(out)
        wait_for = min(rng.choice([0, 0, 1, 2]), tasks - before)
        delay = rng.uniform(0.05, reference.first_done_s) if wait_for == 0 else rng.uniform(0.0, per_task)
        if before >= tasks:
            delay = rng.uniform(0.05, 0.95) * noop_s
        t0 = time.monotonic()
        p = start_build(inputs, out, *extra, env=env)
        while wait_for and p.poll() is None and done_markers(out) < before + wait_for:
            time.sleep(0.005)
        try:
            p.wait(delay)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)  # the CLI and its workers, like kill -9 of the whole job
            p.wait(30)
            log.kills += 1
        else:
            assert p.returncode == 0, p.stderr.read().decode(errors="replace")[-3000:]
        p.stderr.close()
        log.cycles.append((round(time.monotonic() - t0, 2), before, done_markers(out)))
    return log
