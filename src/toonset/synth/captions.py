"""Burned-in text: subtitle boxes and outlined captions, laid out before drawing so the truth has the box."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from toonset.synth.palette import OUTLINE, WHITE

CaptionStyle = Literal["box", "outline"]
CaptionPlace = Literal["bottom", "top"]
FONT = cv2.FONT_HERSHEY_DUPLEX
BOX_COLOR = (18, 18, 26)

PHRASES = (
    "Wait for me!",
    "We have to hurry.",
    "Did you hear that?",
    "I'll never give up!",
    "Where did everyone go?",
    "That's not fair...",
    "Look out!",
    "It's the last train tonight.",
    "You promised me.",
    "Let's try one more time.",
    "Is anybody there?",
    "I knew it was you.",
    "The festival starts at dawn.",
    "Don't look back.",
    "Hey! Over here!",
    "What a beautiful day.",
)


@dataclass(frozen=True)
class CaptionLayout:
    """Where a caption goes: its bounding box [x0, y0, x1, y1) and the text baseline origin."""

    bbox: tuple[int, int, int, int]
    origin: tuple[int, int]
    scale: float
    thickness: int


def layout_caption(
    text: str, style: CaptionStyle, place: CaptionPlace, width: int, height: int
) -> CaptionLayout:
    """Fit ``text`` in one line across at most 90% of the frame, centred at the ``place`` edge."""
    thickness = max(1, round(height / 180))
    scale = 0.55 * height / 180
    (text_w, text_h), baseline = cv2.getTextSize(text, FONT, scale, thickness)
    while text_w > 0.9 * width - 8 and scale > 0.2:
        scale *= 0.9
        (text_w, text_h), baseline = cv2.getTextSize(text, FONT, scale, thickness)
    pad = max(3, round(height / 45)) if style == "box" else thickness + 2
    margin = round(height * 0.05)
    box_w, box_h = text_w + 2 * pad, text_h + baseline + 2 * pad
    x0 = (width - box_w) // 2
    y0 = height - margin - box_h if place == "bottom" else margin
    return CaptionLayout((x0, y0, x0 + box_w, y0 + box_h), (x0 + pad, y0 + pad + text_h), scale, thickness)


def draw_caption(canvas: np.ndarray, text: str, style: CaptionStyle, layout: CaptionLayout) -> None:
    """Draw the caption in place: white text on a dark box, or white text with a dark outline."""
    x0, y0, x1, y1 = layout.bbox
    if style == "box":
        cv2.rectangle(canvas, (x0, y0), (x1 - 1, y1 - 1), BOX_COLOR, -1)
    else:
        cv2.putText(
            canvas, text, layout.origin, FONT, layout.scale, OUTLINE, layout.thickness + 2, cv2.LINE_AA
        )
    cv2.putText(canvas, text, layout.origin, FONT, layout.scale, WHITE, layout.thickness, cv2.LINE_AA)
