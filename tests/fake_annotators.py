"""Small annotators for the framework tests (importable by worker processes as tests.fake_annotators)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from toonset.annotate.base import Annotations, Annotator, ClipItem, MissingModelError, TableSpec


class MeanColour(Annotator):
    """Per keyframe: the picture's mean RGB; per clip: the mean of those (and a model file, if given)."""

    name = "meancolour"
    version = "1"
    tables: ClassVar[dict[str, TableSpec]] = {
        "meancolour": TableSpec(pa.schema([("clip_id", pa.string()), ("frame", pa.int64()),
                                           ("r", pa.float64()), ("g", pa.float64()), ("b", pa.float64())]),
                                ("clip_id", "frame")),
        "meancolour_clips": TableSpec(pa.schema([("clip_id", pa.string()), ("brightness", pa.float64())]),
                                      ("clip_id",)),
    }

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {"model": "", "sleep_s": 0.0, "fail_every": 0}

    def setup(self) -> None:
        if self.params["model"] and not Path(self.params["model"]).is_file():
            raise MissingModelError(f"annotate.meancolour.model = {self.params['model']!r}: no such file")

    def model_files(self) -> list[Path]:
        return [Path(self.params["model"])] if self.params["model"] else []

    def annotate(self, batch: list[ClipItem]) -> Annotations:
        out = Annotations()
        for item in batch:
            if self.params["fail_every"] and item.clip["index"] % self.params["fail_every"] == 1:
                raise ValueError(f"cannot do clip {item.clip_id}")
            means = []
            for frame in item.pictures:
                m = item.pictures[frame].reshape(-1, 3).mean(axis=0)
                means.append(float(m.mean()))
                out.add("meancolour", {"clip_id": item.clip_id, "frame": frame, "r": float(m[0]),
                                       "g": float(m[1]), "b": float(m[2])})
            out.add("meancolour_clips", {"clip_id": item.clip_id, "brightness": float(np.mean(means))})
            out.coverage[item.clip_id] = len(item.pictures)
            if self.params["sleep_s"]:
                time.sleep(self.params["sleep_s"])
        return out


class MeanColourV2(MeanColour):
    version = "2"


class Summary(Annotator):
    """Reads another annotator's rows (``requires``): no pictures of its own."""

    name = "summary"
    version = "1"
    requires = ("meancolour",)
    needs_pictures = False
    tables: ClassVar[dict[str, TableSpec]] = {
        "summary": TableSpec(pa.schema([("clip_id", pa.string()), ("text", pa.string())]), ("clip_id",)),
    }

    def annotate(self, batch: list[ClipItem]) -> Annotations:
        out = Annotations()
        for item in batch:
            rows = item.prior.get("meancolour", {}).get("meancolour_clips", [])
            text = f"brightness {rows[0]['brightness']:.1f}" if rows else "unknown"
            out.add("summary", {"clip_id": item.clip_id, "text": text})
        return out


class Colliding(Annotator):
    """Writes the same key twice: the merge must refuse it."""

    name = "colliding"
    version = "1"
    needs_pictures = False
    tables: ClassVar[dict[str, TableSpec]] = {
        "colliding": TableSpec(pa.schema([("clip_id", pa.string()), ("v", pa.int64())]), ("clip_id",)),
    }

    def annotate(self, batch: list[ClipItem]) -> Annotations:
        out = Annotations()
        for item in batch:
            out.add("colliding", {"clip_id": item.clip_id, "v": 1})
            out.add("colliding", {"clip_id": item.clip_id, "v": 2})
        return out




class FakeExportSources(Annotator):
    """Writes the tables the Sakuga-42M export reads (ocr_clips, caption, tags), from known values."""

    name = "fakeexport"
    version = "1"
    needs_pictures = False
    tables: ClassVar[dict[str, TableSpec]] = {
        "ocr_clips": TableSpec(pa.schema([("clip_id", pa.string()), ("text_score", pa.float64())]), ("clip_id",)),
        "caption": TableSpec(pa.schema([("clip_id", pa.string()), ("caption", pa.string()),
                                        ("captioner", pa.string())]), ("clip_id",)),
        "tags": TableSpec(pa.schema([("clip_id", pa.string()), ("tag", pa.string()), ("category", pa.string()),
                                     ("score", pa.float64()), ("origin", pa.string())]), ("clip_id", "origin", "tag")),
    }

    def annotate(self, batch: list[ClipItem]) -> Annotations:
        out = Annotations()
        for item in batch:
            i = item.clip["index"]
            out.add("ocr_clips", {"clip_id": item.clip_id, "text_score": i / 10})
            out.add("caption", {"clip_id": item.clip_id, "caption": f"caption {i}",
                                "captioner": "template" if i % 2 else "openai"})
            out.add("tags", {"clip_id": item.clip_id, "tag": "smoke", "category": "general", "score": 0.9,
                             "origin": "tagger"})
            out.add("tags", {"clip_id": item.clip_id, "tag": "fire", "category": "general", "score": 0.5,
                             "origin": "tagger"})
        return out
