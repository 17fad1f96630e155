"""A pipeline with injected faults, for executor tests (imported by worker processes by module path)."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

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
