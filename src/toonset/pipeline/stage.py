"""The Stage contract: a small typed step with declared resources and a lifecycle.

An executor calls ``setup()`` once per worker, ``process(item)`` for every item, ``teardown()`` at the
end. ``process`` returns the item (possibly changed) or ``None`` to drop it — a stage that drops an item
must have recorded why (an error or a filtered row) on the item itself first.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Resources:
    """What one running instance of a stage needs; the Ray executor turns these into resource requests."""

    cpus: float = 1.0
    memory_mb: int = 512
    accelerator: str = ""  # e.g. "GPU"; empty for CPU-only stages
    accelerators: float = 0.0


class MissingExtraError(ImportError):
    """An optional dependency of a stage is not installed; the message names the extra."""

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(f"{what} needs the '{extra}' extra: pip install 'toonset[{extra}]'")
        self.extra = extra


class Stage(ABC, Generic[T]):
    name: str = "stage"
    version: str = "1"
    resources: Resources = Resources()

    def setup(self) -> None:
        """Load models or open handles once per worker."""

    @abstractmethod
    def process(self, item: T) -> T | None:
        """Do this stage's work on one item."""

    def teardown(self) -> None:
        """Release what ``setup`` acquired."""
