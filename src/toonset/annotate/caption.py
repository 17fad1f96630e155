"""Clip captions: a deterministic template (default), an OpenAI-compatible endpoint, or a local VLM.

Param ``captioner`` picks one:

* ``template`` — a caption written from what the dataset already knows about the clip (duration, timing,
  drawings, holds, transitions; tags, taxonomy and OCR text when those annotators ran). No model: the rows say
  ``captioner = "template"`` and leave ``model`` empty, so they are never taken for a model's description. It
  aims at Sakuga-42M's 40–60 words when there are enough facts and never adds one that is not in the tables.
* ``openai`` — any chat-completions endpoint with image input (vLLM, Ollama, llama.cpp server, hosted APIs):
  evenly spaced keyframe pictures go as base64 JPEG data URLs with a versioned prompt (see ``openai_client``
  for retries and rate limiting). A reply without a caption is an error for that clip, never an empty row.
* ``transformers`` — a VLM from a local folder (``model_path``), loaded offline (``local_files_only``).

``requires = ("tags", "ocr", "taxonomy")``: the runner only orders the ones named in the same run and loads
the stored rows of earlier runs, so none of them has to exist — their facts are simply absent from the
template (and unused by the model captioners).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa

from toonset.annotate.base import (
    Annotations,
    Annotator,
    ClipItem,
    MissingModelError,
    TableSpec,
    evenly_spaced,
)
from toonset.errors import UsageError
from toonset.pipeline.stage import Resources

CAPTIONERS = ("template", "openai", "transformers")
TEMPLATE_VERSION = "template-1"
PROMPT_VERSION = "sakuga42m-1"
DEFAULT_PROMPT = (
    "You are writing the caption of one shot of hand-drawn animation for a video training dataset. The images "
    "are {keyframes} keyframes (new drawings) of the shot, in temporal order. Write one paragraph of 40 to 60 "
    "words in the style of Sakuga-42M captions: describe the characters' appearance, what they do and how they "
    "move, the setting, the lighting and the camera, in plain present-tense sentences. Describe only what is "
    "visible; do not name the series, studio, artists or characters; do not mention images, frames or "
    "keyframes. Reply with the caption only."
)
CAPTION = pa.schema([
    ("clip_id", pa.string()), ("caption", pa.string()), ("captioner", pa.string()), ("model", pa.string()),
    ("prompt_version", pa.string()), ("words", pa.int64()),
])
MIN_WORDS, MAX_WORDS = 40, 60


# ============================================================================================ facts
@dataclass(frozen=True)
class ClipFacts:
    """What the tables say about a clip, in words ready for a sentence (empty/None = unknown)."""

    num_frames: int = 0
    fps: float | None = None
    keyframes: int = 0
    timing: str = ""
    dynamic_score: float | None = None
    longest_hold: int = 0
    transition_in: str = ""
    transition_out: str = ""
    series: tuple[str, ...] = ()
    characters: tuple[str, ...] = ()  # named characters (tag category "character")
    people: tuple[str, ...] = ()  # who is on screen, from count tags (one girl, no humans …)
    general: tuple[str, ...] = ()  # content tags, most confident first
    taxonomy: tuple[tuple[str, str], ...] = ()  # (axis, label)
    text: tuple[str, ...] = ()  # on-screen text lines
    subtitles: bool = False

    @property
    def seconds(self) -> float | None:
        return self.num_frames / self.fps if self.fps and self.num_frames else None


_NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
_COUNT_TAG = re.compile(r"^(\d)(\+?)(girl|boy|other)s?$")
_MULTIPLE = re.compile(r"^multiple_(girls|boys|others)$")
_PEOPLE_WORDS = {"solo": "a single character", "no_humans": "no human characters"}
_PEOPLE_SKIP = {"solo_focus", "male_focus", "female_focus", "other_focus"}
_SKIP_CATEGORIES = {"artist", "meta", "rating", "circle", "faults", "medium"}
_UNKNOWN_LABELS = {"", "others", "other", "unknown", "none", "-1", "n/a"}


def tag_words(tag: str) -> str:
    """``doraemon_(2005)`` → ``doraemon (2005)``: booru tags as words."""
    return " ".join(tag.replace("_", " ").split())


def character_words(tag: str) -> str:
    """``hinata_hyuuga_(naruto)`` → ``hinata hyuuga``: the qualifier names the series, not the character."""
    return tag_words(re.sub(r"_?\([^()]*\)$", "", tag) or tag)


def people_phrase(tag: str) -> str | None:
    """A count tag (``1girl``, ``6+boys``, ``multiple_girls``, ``solo``, ``no_humans``) as words; None for
    any other tag. ``*_focus`` tags say who the picture is about, not how many: ``""`` (kept out)."""
    if tag in _PEOPLE_WORDS:
        return _PEOPLE_WORDS[tag]
    if tag in _PEOPLE_SKIP:
        return ""
    m = _COUNT_TAG.match(tag)
    if m:
        n, plus, kind = int(m.group(1)), m.group(2), m.group(3)
        noun = {"girl": "girl", "boy": "boy", "other": "other character"}[kind]
        count = _NUMBERS.get(n, str(n))
        return f"{count}{' or more' if plus else ''} {noun}{'s' if n > 1 or plus else ''}"
    m = _MULTIPLE.match(tag)
    if m:
        return {"girls": "several girls", "boys": "several boys", "others": "several other characters"}[m.group(1)]
    return None


def sorted_tags(rows: list[dict[str, Any]]) -> list[tuple[str, str, float]]:
    """(tag, category, best score) once per tag, most confident first (ties by name: deterministic)."""
    best: dict[str, tuple[str, float]] = {}
    for r in rows:
        tag = str(r.get("tag") or r.get("name") or "").strip()
        if not tag:
            continue
        cat = str(r.get("category") or "general").strip().lower()
        score = float(r.get("score") if r.get("score") is not None else 1.0)
        if tag not in best or score > best[tag][1]:
            best[tag] = (cat, score)
    return sorted(((t, c, s) for t, (c, s) in best.items()), key=lambda x: (-x[2], x[0]))


def split_tags(rows: list[dict[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Tags into ``series`` (copyright), ``characters``, ``people`` (count tags) and ``general``; artist,
    meta and rating tags are left out (they say who made the clip or how it is filed, not what it shows)."""
    out: dict[str, list[str]] = {"series": [], "characters": [], "people": [], "general": []}
    for tag, cat, _ in sorted_tags(rows):
        if cat in _SKIP_CATEGORIES:
            continue
        if cat == "copyright":
            out["series"].append(tag_words(tag))
        elif cat == "character":
            out["characters"].append(character_words(tag))
        else:
            people = people_phrase(tag)
            if people is None:
                out["general"].append(tag_words(tag))
            elif people and people not in out["people"]:
                out["people"].append(people)
    return {k: tuple(v) for k, v in out.items()}


_AXIS_KEYS = ("axis", "facet", "dimension", "category")
_LABEL_KEYS = ("label", "value", "class")
# taxonomy axes that describe people (framing, gaze, how many): said only when tags show someone is there
CHARACTER_AXES = frozenset({"character", "composition", "filming"})


def _axis_labels(row: dict[str, Any]) -> list[tuple[str, str, float]]:
    """(axis, label, score) of one taxonomy row: wide (``venue``, ``venue_prob`` … one row per clip, as
    the taxonomy annotator writes) or long (``axis``/``label``/``score``, one row per axis)."""
    wide = [(k, v, row.get(f"{k}_prob")) for k, v in row.items() if f"{k}_prob" in row and isinstance(v, str)]
    if wide:
        return [(k, v, 1.0 if p is None else float(p)) for k, v, p in wide]
    axis = next((str(row[k]) for k in _AXIS_KEYS if row.get(k)), "")
    label = next((str(row[k]) for k in _LABEL_KEYS if row.get(k) is not None), "")
    score = row.get("score", row.get("prob"))
    return [(axis, label, 1.0 if score is None else float(score))] if axis and label else []


def taxonomy_pairs(rows: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    """(axis, label) per axis in the order first seen — the best-scored label where several are given;
    ``others``/unknown labels dropped (they say the classifier had no answer)."""
    best: dict[str, tuple[str, float]] = {}
    for row in rows:
        for axis, label, score in _axis_labels(row):
            label = re.sub(r"\s*\(lab[el]+:\s*-?\d+\)\s*$", "", label).strip()  # Sakuga-42M "indoors(label: 1)"
            if label.lower() in _UNKNOWN_LABELS:
                continue
            if axis not in best or score > best[axis][1]:
                best[axis] = (label, score)
    return tuple((axis.lower(), tag_words(label)) for axis, (label, _) in best.items())


def ocr_lines(prior_ocr: dict[str, list[dict[str, Any]]]) -> tuple[tuple[str, ...], bool]:
    """Distinct on-screen text lines (first seen first) and whether they are subtitles, from ``ocr_clips``
    (its ``text`` joins lines with " | ") or else the per-line ``ocr`` rows."""
    lines: list[str] = []
    subtitles = False
    for row in prior_ocr.get("ocr_clips", []):
        subtitles = subtitles or bool(row.get("has_subtitles"))
        lines += [t.strip() for t in str(row.get("text") or "").split(" | ")]
    if not lines:
        per_line = sorted(prior_ocr.get("ocr", []), key=lambda r: (r.get("frame", 0), r.get("line", 0)))
        lines = [str(r.get("text") or "").strip() for r in per_line]
    # the same line read twice with other spacing ("那個 路飛…" / "那個路飛…") is one line
    distinct = {"".join(t.split()): t for t in reversed(lines) if t}
    return tuple(dict.fromkeys(distinct["".join(t.split())] for t in lines if t)), subtitles


def _number(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def clip_facts(item: ClipItem) -> ClipFacts:
    """The facts of a clip from its rows and the rows of earlier annotators (``item.prior``)."""
    clip, source = item.clip, item.source
    fps = _number(source.get("fps"))
    num, den = source.get("fps_num"), source.get("fps_den")
    if num and den:
        fps = num / den
    # an untyped booru tag is filed as "general" by guess: it may be an artist or a series, not content
    tag_rows = [r for rows in item.prior.get("tags", {}).values() for r in rows
                if r.get("category_source") != "untyped"]
    tags = split_tags(tag_rows)
    someone = bool(tags["characters"]) or any(p != _PEOPLE_WORDS["no_humans"] for p in tags["people"])
    tax_rows = [r for rows in item.prior.get("taxonomy", {}).values() for r in rows]
    taxonomy = tuple((a, lab) for a, lab in taxonomy_pairs(tax_rows) if someone or a not in CHARACTER_AXES)
    text, subtitles = ocr_lines(item.prior.get("ocr", {}))
    holds = [h for _, h in item.keyframes if h]
    return ClipFacts(
        num_frames=int(clip.get("num_frames") or 0), fps=fps if fps and fps > 0 else None,
        keyframes=int(clip.get("num_keyframes") or len(item.keyframes) or 0),
        timing=str(clip.get("timing") or ""), dynamic_score=_number(clip.get("dynamic_score")),
        longest_hold=max(holds, default=0),
        transition_in=str(clip.get("transition_in") or ""), transition_out=str(clip.get("transition_out") or ""),
        series=tags["series"], characters=tags["characters"], people=tags["people"], general=tags["general"],
        taxonomy=taxonomy, text=text, subtitles=subtitles,
    )


# ============================================================================================ template
@dataclass(frozen=True)
class Detail:
    """How much of the facts a template caption spells out (more detail → more words)."""

    general: int = 3
    characters: int = 2
    taxonomy: int = 2
    text_words: int = 6
    fps: bool = False
    dynamic: bool = False
    hold: bool = False


def english_list(items: list[str] | tuple[str, ...]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _duration(seconds: float) -> str:
    return f"{seconds:.1f}".rstrip("0").rstrip(".")


_TIMING = {
    "ones": "It is animated mostly on ones",
    "twos": "It is animated mostly on twos",
    "threes": "It is animated mostly on threes",
    "mixed": "It is animated with mixed timing",
    "limited": "It is limited animation with small changes between drawings",
}
_EDGE = {"cut": "a cut", "fade": "a fade", "dissolve": "a dissolve", "flash": "a flash"}


def subject_sentence(f: ClipFacts, d: Detail) -> str:
    s = f"A {_duration(f.seconds)}-second animated shot" if f.seconds else "An animated shot"
    if f.series:
        s += f" from {english_list(f.series[:2])}"
    who = list(f.characters[: d.characters]) + list(f.people)
    if who:
        s += f" featuring {english_list(who)}"
    if f.general and d.general:
        s += f"{',' if who else ''} showing {english_list(f.general[: d.general])}"
    return s + "."


def taxonomy_sentence(f: ClipFacts, d: Detail) -> str:
    pairs = f.taxonomy[: d.taxonomy]
    if not pairs:
        return ""
    return f"It is classified as {english_list([f'{label} ({axis})' for axis, label in pairs])}."


def timing_sentence(f: ClipFacts, d: Detail) -> str:
    if not f.num_frames:
        return ""
    at = f" at {f.fps:.3f}".rstrip("0").rstrip(".") + " fps" if d.fps and f.fps else ""
    if f.timing == "still" or f.keyframes == 1:
        return f"It holds a single drawing for all {f.num_frames} frames{at}."
    s = _TIMING.get(f.timing, "It is animated")
    s += f", with {f.keyframes} distinct drawings over {f.num_frames} frames{at}" if f.keyframes else \
        f" over {f.num_frames} frames{at}"
    if d.dynamic and f.dynamic_score is not None:
        s += f" (dynamic score {f.dynamic_score:.2f})"
    if d.hold and f.longest_hold > 1:
        s += f"; the longest hold lasts {f.longest_hold} frames"
        if f.fps:
            s += f" ({_duration(f.longest_hold / f.fps)} s)"
    return s + "."


def transition_sentence(f: ClipFacts) -> str:
    parts = []
    if f.transition_in in _EDGE:
        parts.append(f"opens with {_EDGE[f.transition_in]}")
    elif f.transition_in == "start":
        parts.append("opens at the start of the video")
    if f.transition_out in _EDGE:
        parts.append(f"ends with {_EDGE[f.transition_out]}")
    elif f.transition_out == "end":
        parts.append("runs to the end of the video")
    return f"The shot {' and '.join(parts)}." if parts else ""


def text_sentence(f: ClipFacts, d: Detail) -> str:
    if not f.text:
        return ""
    words = " / ".join(f.text).split()
    quoted = " ".join(words[: d.text_words]) + (" …" if len(words) > d.text_words else "")
    return f"{'Subtitles read' if f.subtitles else 'On-screen text reads'} \u201c{quoted}\u201d."


def render(f: ClipFacts, d: Detail) -> str:
    parts = [subject_sentence(f, d), taxonomy_sentence(f, d), timing_sentence(f, d), transition_sentence(f),
             text_sentence(f, d)]
    return " ".join(p for p in parts if p)


def word_count(text: str) -> int:
    return len(text.split())


def detail_steps(f: ClipFacts) -> list[dict[str, Any]]:
    """Facts beyond the plainest caption, most wanted first; each step adds a few words."""
    steps: list[dict[str, Any]] = [{"fps": True}, {"dynamic": True}, {"hold": True}]
    steps += [{"characters": n} for n in range(3, min(5, len(f.characters)) + 1)]
    steps += [{"taxonomy": n} for n in range(3, len(f.taxonomy) + 1)]
    steps += [{"text_words": 12}]
    steps += [{"general": n} for n in range(4, min(8, len(f.general)) + 1)]
    steps += [{"text_words": n} for n in (18, 24)]
    steps += [{"general": n} for n in range(9, min(12, len(f.general)) + 1)]
    return steps


def template_caption(f: ClipFacts, max_words: int = MAX_WORDS) -> str:
    """The plainest caption, then each further fact that still fits ``max_words`` (skipping those that do
    not). With few facts the caption stays shorter than 40 words: nothing is padded or made up."""
    d = Detail(general=min(3, len(f.general)))
    text = render(f, d)
    for step in detail_steps(f):
        candidate = replace(d, **step)
        longer = render(f, candidate)
        if word_count(longer) <= max_words:
            d, text = candidate, longer
    return text


# ============================================================================================ pictures
def jpeg_data_url(rgb: np.ndarray, quality: int = 90) -> str:
    """An RGB picture as ``data:image/jpeg;base64,…`` (what OpenAI-compatible vision servers accept)."""
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"cannot encode a picture of shape {rgb.shape} as JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def chosen_frames(item: ClipItem, max_keyframes: int) -> list[int]:
    frames = list(item.pictures)
    if not frames:
        raise ValueError(f"clip {item.clip_id} has no keyframe pictures to caption")
    return evenly_spaced(frames, max(1, max_keyframes))


def prompt_text(prompt: str, keyframes: int) -> str:
    return prompt.replace("{keyframes}", str(keyframes))


def check_reachable(base_url: str, timeout_s: float) -> None:
    """Connect once (no request sent) so a wrong ``base_url`` stops the run at setup instead of turning
    every clip into an error row after its retries."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"annotate.caption.base_url = {base_url!r}: not an http(s) URL (e.g. http://host:8000/v1)")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout_s).close()
    except OSError as exc:
        raise UsageError(f"annotate.caption.base_url = {base_url!r}: cannot connect ({exc})") from exc


# ============================================================================================ annotator
class CaptionAnnotator(Annotator):
    name = "caption"
    version = "1"
    resources = Resources(cpus=1.0, memory_mb=512)
    batch_size = 8
    requires = ("tags", "ocr", "taxonomy")
    needs_pictures = False  # the template reads none; the model captioners count what they send
    tables: ClassVar[dict[str, TableSpec]] = {"caption": TableSpec(CAPTION, ("clip_id",))}

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {
            "captioner": "template",
            # openai
            "base_url": "", "model": "", "api_key_env": "", "max_keyframes": 4, "prompt": DEFAULT_PROMPT,
            "prompt_version": PROMPT_VERSION, "timeout_s": 60.0, "retries": 3, "backoff_s": 1.0,
            "rate_per_s": 0.0, "max_tokens": 160, "temperature": 0.2, "concurrency": 4, "jpeg_quality": 90,
            # transformers
            "model_path": "", "device": "auto",
        }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        if p["captioner"] not in CAPTIONERS:
            raise UsageError(f"annotate.caption.captioner = {p['captioner']!r}: choose from {', '.join(CAPTIONERS)}")
        self.needs_pictures = p["captioner"] != "template"
        if p["captioner"] == "transformers" and str(p["device"]).startswith("cuda"):
            self.resources = Resources(cpus=1.0, memory_mb=8192, accelerator="GPU", accelerators=1.0)
        custom = p["prompt"] != DEFAULT_PROMPT and p["prompt_version"] == PROMPT_VERSION
        # a changed prompt under the default version would be a lie in every row: name it by its hash
        self.prompt_version = (f"custom-{hashlib.sha256(p['prompt'].encode()).hexdigest()[:8]}" if custom
                               else str(p["prompt_version"]))
        self._client: Any = None
        self._vlm: Any = None
        self._memo: dict[str, tuple[str, int] | BaseException] = {}
        self._memo_lock = threading.Lock()

    # ---------------------------------------------------------------- lifecycle
    def setup(self) -> None:
        p = self.params
        if p["captioner"] == "openai":
            from toonset.annotate.openai_client import ChatClient

            if not p["base_url"]:
                raise MissingModelError("annotate.caption.base_url is not set: the openai captioner needs an "
                                        "OpenAI-compatible endpoint, e.g. http://localhost:8000/v1")
            if not p["model"]:
                raise MissingModelError("annotate.caption.model is not set: name the model the endpoint serves")
            key = ""
            if p["api_key_env"]:
                key = os.environ.get(p["api_key_env"], "")
                if not key:
                    raise UsageError(f"annotate.caption.api_key_env = {p['api_key_env']!r}: that environment "
                                     "variable is not set")
            check_reachable(p["base_url"], float(p["timeout_s"]))
            self._client = ChatClient(p["base_url"], key, timeout_s=float(p["timeout_s"]), retries=int(p["retries"]),
                                      backoff_s=float(p["backoff_s"]), rate_per_s=float(p["rate_per_s"]))
        elif p["captioner"] == "transformers":
            self._vlm = LocalVLM.load(p["model_path"], str(p["device"]))

    def model_files(self) -> list[Path]:
        return self._vlm.weight_files if self._vlm is not None else []

    def teardown(self) -> None:
        self._client = None
        self._vlm = None

    # ---------------------------------------------------------------- annotate
    def annotate(self, batch: list[ClipItem]) -> Annotations:
        out = Annotations()
        if self.params["captioner"] == "template":
            for item in batch:
                text = template_caption(clip_facts(item))
                out.add("caption", self._row(item, text, "template", "", TEMPLATE_VERSION))
                out.coverage[item.clip_id] = 0
            return out
        results = self._model_results(batch)
        model = self.params["model"] if self.params["captioner"] == "openai" else self._vlm.name
        for item in batch:
            text, seen = results[item.clip_id]
            out.add("caption", self._row(item, text, self.params["captioner"], model, self.prompt_version))
            out.coverage[item.clip_id] = seen
        return out

    def _model_results(self, batch: list[ClipItem]) -> dict[str, tuple[str, int]]:
        """Captions of the batch (concurrent requests for the endpoint). When one clip fails, the runner asks
        again clip by clip: the answers already received are kept for that, so no clip is requested twice."""
        with self._memo_lock:
            results: dict[str, tuple[str, int] | BaseException] = {
                it.clip_id: self._memo.pop(it.clip_id) for it in batch if it.clip_id in self._memo}
        todo = [it for it in batch if it.clip_id not in results]
        if self.params["captioner"] == "openai" and len(todo) > 1:
            with ThreadPoolExecutor(max_workers=max(1, min(int(self.params["concurrency"]), len(todo)))) as pool:
                results.update(zip([it.clip_id for it in todo], pool.map(self._caption_or_error, todo)))
        else:
            results.update((it.clip_id, self._caption_or_error(it)) for it in todo)
        failed = [it.clip_id for it in batch if isinstance(results[it.clip_id], BaseException)]
        if failed:
            if len(batch) > 1:
                with self._memo_lock:
                    self._memo.update(results)
            raise results[failed[0]]  # type: ignore[misc]
        return results  # type: ignore[return-value]

    def _caption_or_error(self, item: ClipItem) -> tuple[str, int] | BaseException:
        try:
            return self._caption_one(item)
        except Exception as exc:
            return exc

    def _caption_one(self, item: ClipItem) -> tuple[str, int]:
        p = self.params
        frames = chosen_frames(item, int(p["max_keyframes"]))
        prompt = prompt_text(p["prompt"], len(frames))
        if p["captioner"] == "openai":
            from toonset.annotate.openai_client import user_message

            urls = [jpeg_data_url(item.pictures[f], int(p["jpeg_quality"])) for f in frames]
            text = self._client.chat(p["model"], user_message(prompt, urls), max_tokens=int(p["max_tokens"]),
                                     temperature=float(p["temperature"]))
        else:
            text = self._vlm.caption([item.pictures[f] for f in frames], prompt, int(p["max_tokens"]),
                                     float(p["temperature"]))
        text = " ".join(text.split())
        if not text:
            raise ValueError(f"the {p['captioner']} captioner returned an empty caption")
        return text, len(frames)

    @staticmethod
    def _row(item: ClipItem, text: str, captioner: str, model: str, prompt_version: str) -> dict[str, Any]:
        return {"clip_id": item.clip_id, "caption": text, "captioner": captioner, "model": model,
                "prompt_version": prompt_version, "words": word_count(text)}


# ============================================================================================ local VLM
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


@dataclass
class LocalVLM:
    """A vision-language model loaded offline with ``transformers`` from a folder (config.json, weights,
    processor files). Untested with real weights here: the tests cover the errors only."""

    name: str
    processor: Any
    model: Any
    weight_files: list[Path]

    @classmethod
    def load(cls, model_path: str, device: str = "auto") -> LocalVLM:
        setting = f"annotate.caption.model_path = {model_path!r}"
        if not model_path:
            raise MissingModelError("annotate.caption.model_path is not set: the transformers captioner needs a "
                                    "local model folder (config.json, weights, processor files)")
        folder = Path(model_path).expanduser()
        if not (folder / "config.json").is_file():
            raise MissingModelError(f"{setting}: no config.json there (a transformers model folder is needed)")
        try:  # transformers first: without it, torch (seconds to import) is not worth importing
            import transformers
            from transformers import AutoProcessor
        except ImportError as exc:
            raise MissingModelError(f"{setting}: the transformers captioner needs the 'transformers' package, "
                                    f"which is not installed ({exc})") from exc
        try:
            import torch
        except ImportError as exc:
            raise MissingModelError(f"{setting}: the transformers captioner needs 'torch', which is "
                                    f"not installed ({exc})") from exc
        auto = getattr(transformers, "AutoModelForImageTextToText", None) or getattr(
            transformers, "AutoModelForVision2Seq", None)
        if auto is None:
            raise MissingModelError(f"{setting}: this transformers ({transformers.__version__}) has no "
                                    "image-text-to-text auto class")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype_key = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
        try:
            processor = AutoProcessor.from_pretrained(str(folder), local_files_only=True)
            model = auto.from_pretrained(str(folder), local_files_only=True, **{dtype_key: "auto"}).to(device)
        except (OSError, ValueError, KeyError) as exc:
            raise MissingModelError(f"{setting}: cannot load the model offline ({exc})") from exc
        model.eval()
        weights = sorted(p for p in folder.iterdir() if p.suffix in WEIGHT_SUFFIXES and p.is_file())
        return cls(folder.name, processor, model, weights)

    def caption(self, pictures: list[np.ndarray], prompt: str, max_tokens: int, temperature: float) -> str:
        import torch
        from PIL import Image

        images = [Image.fromarray(p) for p in pictures]
        messages = [{"role": "user", "content": [*({"type": "image"} for _ in images),
                                                 {"type": "text", "text": prompt}]}]
        if getattr(self.processor, "chat_template", None):
            text = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        else:
            text = prompt
        inputs = self.processor(text=[text], images=images, return_tensors="pt").to(self.model.device)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        with torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=max_tokens, **sampling)
        new = out[:, inputs["input_ids"].shape[1]:]
        return self.processor.batch_decode(new, skip_special_tokens=True)[0].strip()
