"""Text metrics for the OCR benchmarks and tests: edit distance and character error rate."""

from __future__ import annotations


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions) between two strings."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def cer(pred: str, truth: str, fold_case: bool = True) -> float:
    """Character error rate of ``pred`` against ``truth``, ignoring white space (and case by default)."""
    a, b = "".join(pred.split()), "".join(truth.split())
    if fold_case:
        a, b = a.upper(), b.upper()
    return levenshtein(a, b) / max(1, len(b))
