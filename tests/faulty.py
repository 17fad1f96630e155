"""A pipeline with injected faults, for executor tests (imported by worker processes by module path)."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from toonset.pipeline.build import PipelineSpec
from toonset.pipeline.stage import Stage
from toonset.pipeline.work import SourceWork


class FaultStage(Stage[SourceWork]):
    """Segfaults on paths containing 'crash', hangs on 'hang', crashes once on 'flaky' (marker file)."""

    name = "fault"

    def process(self, work: SourceWork) -> SourceWork:
        path = work.ref.path
        if "crash" in os.path.basename(path):
            os.kill(os.getpid(), signal.SIGSEGV)
        if "hang" in os.path.basename(path):
            time.sleep(3600)
        if "flaky" in os.path.basename(path):
            marker = path + ".crashed-once"
            if not os.path.exists(marker):
                open(marker, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)
        return work


@dataclass(frozen=True)
class FaultySpec(PipelineSpec):
    def stages(self) -> list[Stage]:
        return [FaultStage(), *super().stages()]


FAULTY_NAMES = ("good.mp4", "crash.mp4", "hang.mp4", "flaky.mp4", "zgood.mp4")


def faulty_case(tmp: Path):
    """Five short videos, one of each fault and two good ones, planned two per task:
    (config, output folder, tasks, spec). Test-side only (worker processes never call it)."""
    from tests.helpers import scene, with_figure, write_video
    from toonset.config import BuildConfig
    from toonset.executors.tasks import make_plan
    from toonset.ingest.local import expand_inputs

    src = tmp / "in"
    src.mkdir()
    frames = [with_figure(scene(1), i // 2) for i in range(12)]
    for name in FAULTY_NAMES:
        write_video(src / name, frames)
    cfg = BuildConfig()
    cfg.executor.sources_per_task = 2
    out = tmp / "ds"
    tasks = make_plan(out, expand_inputs([str(src)]), cfg.to_dict(), cfg.executor.sources_per_task, media=False)
    return cfg, out, tasks, FaultySpec(cfg.to_dict(), media=False, threads=1)


def faulty_outcome(cfg, out: Path, tasks):
    """Finalize a run of ``faulty_case`` and check what every executor must give: every task done, the crash
    and the hang as error rows, the flaky source and the neighbours as sources. Returns the errors frame."""
    import pyarrow.parquet as pq

    from toonset.executors.tasks import is_done
    from toonset.store.dataset import finalize

    assert all(is_done(out, t) for t in tasks)
    finalize(out, cfg.to_dict())
    errors = pq.read_table(out / "errors.parquet").to_pandas()
    sources = pq.read_table(out / "sources.parquet").to_pandas()
    err = dict(zip(errors.path.str.rsplit("/", n=1).str[-1], errors.error_type))
    assert err == {"crash.mp4": "worker_crash", "hang.mp4": "timeout"}
    ok = sorted(sources.path.str.rsplit("/", n=1).str[-1])
    assert ok == ["flaky.mp4", "good.mp4", "zgood.mp4"]  # flaky succeeded on retry; neighbours not lost
    return errors
