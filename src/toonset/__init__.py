"""toonset: turn hand-drawn animation into clean, annotated, training-ready datasets."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "open_dataset"]


def open_dataset(path):
    """Open a built dataset folder; see :func:`toonset.store.dataset.open_dataset`."""
    from toonset.store.dataset import open_dataset as _open

    return _open(path)
