"""Kill -9 a build at 20 random points; the resumed build equals an uninterrupted one, nothing lost or doubled."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from tests.helpers import scene, with_figure, write_video
from tests.killing import assert_same_dataset, kill_cycles, run_build, snapshot

KILLS = 20
VIDEOS = 8


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("resume-in")
    for v in range(VIDEOS):
        frames = []
        for shot in range(3):
            bg = cv2.resize(scene(v * 10 + shot), (480, 288), interpolation=cv2.INTER_NEAREST)
            frames += [with_figure(bg, i // 2) for i in range(40)]
        write_video(d / f"v{v}.mp4", frames)
    (d / "broken.mp4").write_bytes(b"\x00" * 1000)
    (d / "toonset.toml").write_text("[executor]\nsources_per_task = 1\n")
    return d


def _args(videos: Path) -> tuple[str, ...]:
    return ("--workers", "2", "--config", str(videos / "toonset.toml"))


@pytest.mark.slow
def test_twenty_kills_resume_to_the_same_dataset(videos, tmp_path):
    ref_out = tmp_path / "ref"
    timing = run_build(videos, ref_out, *_args(videos))
    reference = snapshot(ref_out)
    noop = run_build(videos, ref_out, *_args(videos)).total_s  # a resume with nothing left to do
    out = tmp_path / "ds"
    log = kill_cycles(videos, out, *_args(videos), kills=KILLS, reference=timing, noop_s=noop,
                      tasks=VIDEOS + 1, workers=2)
    assert log.kills == KILLS, log.cycles
    assert log.progressed >= 3, log.cycles  # tasks completed between kills: kills hit runs in progress
    assert any(0 < before < VIDEOS + 1 for _, before, _ in log.cycles), log.cycles  # killed a resumed run
    run_build(videos, out, *_args(videos))
    got = snapshot(out)
    assert_same_dataset(got, reference)
    assert got["clips"].num_rows == 3 * VIDEOS and got["errors"].num_rows == 1
    leftovers = [p.name for p in (out / "_tasks").iterdir() if p.name.startswith(".")]
    leftovers += [p.name for p in (out / "shards").iterdir() if p.name.startswith(".")]
    assert leftovers == []
