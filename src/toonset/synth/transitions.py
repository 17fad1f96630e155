"""Gradual transitions between two shots: fades through a colour and cross-dissolves."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from toonset.synth.timeline import Transition


def blend_frames(outgoing: np.ndarray, incoming: np.ndarray, transition: Transition) -> Iterator[np.ndarray]:
    """The ``transition.length`` frames between the last frame of one shot and the first of the next.

    Progress runs over (0, 1) exclusive, so no blended frame equals either shot's own frame. A fade goes
    from ``outgoing`` to the colour in the first half and from the colour to ``incoming`` in the second.
    """
    a, b = outgoing.astype(np.float32), incoming.astype(np.float32)
    for step in range(transition.length):
        progress = (step + 1) / (transition.length + 1)
        if transition.type == "dissolve":
            mixed = a * (1 - progress) + b * progress
        elif transition.type == "fade":
            color = np.array(transition.color, np.float32)
            source, weight = (a, 1 - 2 * progress) if progress < 0.5 else (b, 2 * progress - 1)
            mixed = source * weight + color * (1 - weight)
        else:
            raise ValueError(f"not a gradual transition: {transition.type}")
        yield np.rint(mixed).astype(np.uint8)
