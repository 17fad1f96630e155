"""The standard ``build`` pipeline as a picklable spec, so any executor can rebuild it in a worker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from toonset.config import BuildConfig
from toonset.pipeline.analyze_stage import AnalyzeStage
from toonset.pipeline.stage import Stage


@dataclass(frozen=True)
class PipelineSpec:
    config: dict[str, Any]
    media: bool = True
    threads: int = 0  # decoder threads per worker

    def build_config(self) -> BuildConfig:
        return BuildConfig.from_dict(self.config)

    def stages(self) -> list[Stage]:
        """probe → decode once → shots → timing → (media) ; clip annotators are appended here later."""
        cfg = self.build_config()
        return [AnalyzeStage(cfg, media=self.media, threads=self.threads)]
