"""Loaders over a built dataset (PyTorch; needs the ``torch`` extra)."""
