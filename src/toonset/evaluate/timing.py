"""Per-frame new-drawing metrics against truth labels (1 = the frame shows a new image)."""

from __future__ import annotations

from collections.abc import Sequence

from toonset.evaluate.shots import PRF


def new_drawing_prf(pred_keyframes: Sequence[int], truth_flags: Sequence[int], skip: Sequence[int] = ()) -> PRF:
    """Precision/recall of predicted new-drawing frames against per-frame truth, ignoring ``skip`` frames
    (frame 0 and other frames that are keyframes by definition)."""
    pred = set(int(k) for k in pred_keyframes)
    ignore = set(int(s) for s in skip)
    tp = fp = fn = 0
    for i, flag in enumerate(truth_flags):
        if i in ignore:
            continue
        p = i in pred
        if p and flag:
            tp += 1
        elif p:
            fp += 1
        elif flag:
            fn += 1
    return PRF(tp, fp, fn)


def label_prf(pred_keyframes: Sequence[int], label: dict, skip: Sequence[int] = ()) -> PRF:
    """Score keyframes against a per-frame timing label (``benchmarks/labels/*.timing.json``): frames in
    ``label["range"]`` after its first, minus ``label["unsure"]`` and ``skip`` (e.g. detected shot starts,
    new by definition), are new drawings when listed in ``label["new"]``."""
    start, end = (int(x) for x in label["range"])
    new = set(int(i) for i in label["new"])
    flags = [int(i in new) for i in range(end)]
    ignore = set(range(start + 1)) | set(int(i) for i in label.get("unsure", ())) | set(int(s) for s in skip)
    return new_drawing_prf([k for k in pred_keyframes if k < end], flags, skip=sorted(ignore))
