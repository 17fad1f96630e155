"""Per-frame values that an online analyzer reads only near the current frame: memory stays flat.

``FrameSeries`` behaves like the growing ``list[float]`` it replaces (``append``, ``len``, ``s[i]``,
``s[a:b]`` by absolute frame index) but keeps only the last ``keep`` values in a ring buffer; reading a
value that has left the window raises ``IndexError`` (a window too short is a bug, not a silent zero).
``RecentValues`` is a ``dict`` by frame index that forgets keys more than ``span`` frames old.
"""

from __future__ import annotations

from typing import overload


class FrameSeries:
    """The last ``keep`` (or more) per-frame floats, addressed by absolute frame index.

    A plain list plus the absolute index of its first element: appends and slices stay C-speed, and the
    front is trimmed in chunks (amortised O(1)) once it holds twice ``keep`` values."""

    def __init__(self, keep: int) -> None:
        self.keep = max(1, keep)
        self._vals: list[float] = []
        self._start = 0  # absolute frame index of self._vals[0]

    def append(self, value: float) -> None:
        self._vals.append(float(value))
        if len(self._vals) >= 2 * self.keep:
            drop = len(self._vals) - self.keep
            del self._vals[:drop]
            self._start += drop

    def __len__(self) -> int:
        return self._start + len(self._vals)

    @overload
    def __getitem__(self, i: int) -> float: ...

    @overload
    def __getitem__(self, i: slice) -> list[float]: ...

    def __getitem__(self, i: int | slice) -> float | list[float]:
        n = self._start + len(self._vals)
        if isinstance(i, slice):
            a, b, step = i.indices(n)
            if a < b and a < self._start:
                raise IndexError(f"frame {a} is outside the kept window [{self._start}, {n})")
            return self._vals[a - self._start : b - self._start : step]
        if i < 0:
            i += n
        if not self._start <= i < n:
            raise IndexError(f"frame {i} is outside the kept window [{self._start}, {n})")
        return self._vals[i - self._start]


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
