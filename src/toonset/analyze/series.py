"""Per-frame values that an online analyzer reads only near the current frame: memory stays flat.

``FrameSeries`` behaves like the growing ``list[float]`` it replaces (``append``, ``len``, ``s[i]``,
``s[a:b]`` by absolute frame index) but keeps only the last ``keep`` values in a ring buffer; reading a
value that has left the window raises ``IndexError`` (a window too short is a bug, not a silent zero).
``RecentValues`` is a ``dict`` by frame index that forgets keys more than ``span`` frames old.
"""

from __future__ import annotations

from typing import overload

import numpy as np


class FrameSeries:
    """The last ``keep`` per-frame floats, addressed by absolute frame index."""

    def __init__(self, keep: int) -> None:
        self.keep = max(1, keep)
        self._buf = np.zeros(self.keep, np.float64)
        self._n = 0

    def append(self, value: float) -> None:
        self._buf[self._n % self.keep] = value
        self._n += 1

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> float: ...

    @overload
    def __getitem__(self, i: slice) -> list[float]: ...

    def __getitem__(self, i: int | slice) -> float | list[float]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not self._n - self.keep <= i < self._n or i < 0:
            raise IndexError(f"frame {i} is outside the kept window [{max(0, self._n - self.keep)}, {self._n})")
        return float(self._buf[i % self.keep])


class RecentValues(dict[int, float]):
    """A dict by frame index that drops entries more than ``span`` frames older than the newest key."""

    def __init__(self, span: int) -> None:
        super().__init__()
        self.span = span

    def __setitem__(self, key: int, value: float) -> None:
        super().__setitem__(key, value)
        if len(self) > 2 * self.span:
            for old in [k for k in self if k < key - self.span]:
                del self[old]
