"""Annotator names → classes, imported only when asked for (no model library is imported otherwise).

``--with`` takes these names, or ``package.module:ClassName`` for an annotator of your own."""

from __future__ import annotations

import importlib
from typing import Any

from toonset.annotate.base import Annotator
from toonset.errors import UsageError

ANNOTATORS: dict[str, str] = {
    "ocr": "toonset.annotate.ocr:OcrAnnotator",
    "quality": "toonset.annotate.quality:QualityAnnotator",
    "tags": "toonset.annotate.tags:TagsAnnotator",
    "embeddings": "toonset.annotate.embeddings:EmbeddingsAnnotator",
    "caption": "toonset.annotate.caption:CaptionAnnotator",
    "taxonomy": "toonset.annotate.taxonomy:TaxonomyAnnotator",
}


def annotator_class(name: str) -> type[Annotator]:
    target = ANNOTATORS.get(name, name if ":" in name else "")
    if not target:
        raise UsageError(f"unknown annotator {name!r}; choose from {', '.join(ANNOTATORS)} "
                         "or give package.module:ClassName")
    module, _, cls = target.partition(":")
    try:
        obj = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"annotator {name!r} cannot be loaded ({target}): {exc}") from exc
    if not (isinstance(obj, type) and issubclass(obj, Annotator)):
        raise UsageError(f"{target} is not an Annotator")
    return obj


def make_annotator(name: str, params: dict[str, Any] | None = None) -> Annotator:
    return annotator_class(name)(**(params or {}))
