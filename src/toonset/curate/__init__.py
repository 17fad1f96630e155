"""Curation over a built dataset: dedup, leak-free splits and SQL filters (scores first, selection later)."""
