"""Opt-out lists: posts, artists and tags whose owners asked not to be included, applied before download.

One entry per line, ``#`` starts a comment::

    post:216284        # a booru post id (a bare number means the same)
    artist:some_animator
    tag:production_materials
    copyright:some_series
    md5:94818e87adafcd4a8b857eca97417b69

Artist, copyright and tag entries match the post's tags by name (an artist on a booru is a tag), so they
work even when tag types are not looked up. Matching ignores case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from toonset.errors import UsageError

KINDS = ("post", "artist", "tag", "copyright", "md5")
_ENTRY = re.compile(r"^(?:(post|artist|tag|copyright|md5):)?(\S+)$", re.IGNORECASE)


@dataclass
class OptOut:
    posts: set[int] = field(default_factory=set)
    artists: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)
    copyrights: set[str] = field(default_factory=set)
    md5s: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.posts) + len(self.artists) + len(self.tags) + len(self.copyrights) + len(self.md5s)

    def match(self, post_id: int | None, tags: list[str], md5: str = "") -> str | None:
        """Why a post is opted out (e.g. ``"artist:some_animator"``), or None when it may be fetched."""
        if post_id is not None and post_id in self.posts:
            return f"post:{post_id}"
        if md5 and md5.lower() in self.md5s:
            return f"md5:{md5.lower()}"
        lowered = {t.lower() for t in tags}
        for kind, names in (("artist", self.artists), ("copyright", self.copyrights), ("tag", self.tags)):
            hit = sorted(lowered & names)
            if hit:
                return f"{kind}:{hit[0]}"
        return None


def parse_optout(text: str, origin: str = "opt-out list") -> OptOut:
    out = OptOut()
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = _ENTRY.match(line)
        if not m:
            raise UsageError(f"{origin} line {n}: expected KIND:VALUE (kinds: {', '.join(KINDS)}), got {line!r}")
        kind, value = (m.group(1) or "post").lower(), m.group(2)
        if kind == "post":
            if not value.isdigit():
                raise UsageError(f"{origin} line {n}: post ids are numbers, got {value!r}")
            out.posts.add(int(value))
        else:
            {"artist": out.artists, "tag": out.tags, "copyright": out.copyrights, "md5": out.md5s}[kind].add(value.lower())
    return out


def load_optout(path: str | Path | None) -> OptOut:
    if not path:
        return OptOut()
    try:
        return parse_optout(Path(path).read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise UsageError(f"cannot read opt-out list {path}: {exc.strerror or exc}") from exc
