"""Fetch posts from a Moebooru site (Sakugabooru's API) into a DOWNLOADS folder, with provenance.

For each page of ``GET {site}/post.json?tags=...&page=N&limit=L`` and each post on it:

1. checks the post (integer id, 32-hex md5, a media URL with a video extension) — else rejected;
2. applies the opt-out list (post ids, md5s, artist/copyright/tag names) *before* any download;
3. looks up the type of each of its tags (``GET {site}/tag.json?name=TAG``, cached in ``tag-types.json``)
   to split them into artist / copyright / character / general / meta;
4. downloads the file to ``<post id>.<ext>`` (atomically, under the rate limit), checks its md5 against
   the post's (a mismatch deletes the file and is rejected), and writes ``<post id>.<ext>.toonset.json``.

Every request shares one token bucket (default 1 request/s). Pages done are saved after each page, and
posts whose file and sidecar exist are skipped, so re-running the same command resumes. Names come only
from the integer post id and a checked extension, and go through ``safe_name``/``inside``.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from toonset.errors import UsageError
from toonset.ingest.fetchlog import FetchState, RejectLog, now_iso
from toonset.ingest.http import HttpClient, HttpError
from toonset.ingest.local import VIDEO_EXTENSIONS
from toonset.ingest.optout import OptOut
from toonset.ingest.provenance import TAG_TYPES, read_sidecar, sidecar_path, write_sidecar
from toonset.store.atomic import atomic_write_text, inside, safe_name

TAG_CACHE = "tag-types.json"
_MD5 = re.compile(r"^[0-9a-f]{32}$")
Event = Callable[[str, dict[str, Any]], None]


@dataclass
class FetchSummary:
    query: str
    pages: int = 0
    posts_seen: int = 0
    downloaded: int = 0
    skipped_existing: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    finished: bool = False

    def reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def normalize_site(site: str) -> str:
    parts = urllib.parse.urlsplit(site.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--site must be an http(s) URL like https://www.sakugabooru.com, got {site!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


class MoebooruClient:
    """The two Moebooru endpoints a fetch needs, with a persistent cache of tag types."""

    def __init__(self, site: str, http: HttpClient, cache_path: Path | None = None) -> None:
        self.site = normalize_site(site)
        self.http = http
        self.cache_path = cache_path
        self.tag_types: dict[str, str] = {}
        if cache_path and cache_path.exists():
            try:
                self.tag_types = dict(json.loads(cache_path.read_text()).get(self.site, {}))
            except (OSError, json.JSONDecodeError, AttributeError):
                self.tag_types = {}

    def url(self, endpoint: str, **params: Any) -> str:
        return f"{self.site}/{endpoint}?{urllib.parse.urlencode(params)}"

    def posts(self, tags: str, page: int, limit: int) -> list[dict[str, Any]]:
        data = self.http.get_json(self.url("post.json", tags=tags, page=page, limit=limit))
        if not isinstance(data, list):
            raise HttpError(self.url("post.json", tags=tags, page=page), 0, "post.json did not return a list")
        return [p for p in data if isinstance(p, dict)]

    def tag_type(self, name: str) -> str:
        """artist / copyright / character / general / meta / unknown for one tag (cached)."""
        if name in self.tag_types:
            return self.tag_types[name]
        kind = "unknown"
        try:
            data = self.http.get_json(self.url("tag.json", name=name, limit=0))
        except HttpError:
            return kind  # not cached: looked up again next time
        for tag in data if isinstance(data, list) else []:
            if isinstance(tag, dict) and tag.get("name") == name:
                kind = TAG_TYPES.get(tag.get("type"), "unknown") if isinstance(tag.get("type"), int) else "unknown"
                break
        self.tag_types[name] = kind
        return kind

    def save_cache(self) -> None:
        if not self.cache_path:
            return
        try:
            everything = json.loads(self.cache_path.read_text()) if self.cache_path.exists() else {}
        except (OSError, json.JSONDecodeError):
            everything = {}
        everything[self.site] = dict(sorted(self.tag_types.items()))
        atomic_write_text(self.cache_path, json.dumps(everything, indent=0, ensure_ascii=False))


def media_url(site: str, post: dict[str, Any]) -> str:
    """The post's file URL, absolute (Moebooru may serve a site-relative or protocol-relative one)."""
    return urllib.parse.urljoin(site + "/", str(post.get("file_url") or ""))


def media_ext(post: dict[str, Any], url: str) -> str:
    ext = str(post.get("file_ext") or "").lower().lstrip(".")
    if not ext:
        ext = PurePosixPath(urllib.parse.urlsplit(url).path).suffix.lower().lstrip(".")
    return ext


def typed_tags(tags: list[str], client: MoebooruClient | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for tag in tags:
        kind = client.tag_type(tag) if client else "unknown"
        out.setdefault(kind, []).append(tag)
    return out


def provenance_record(site: str, post: dict[str, Any], url: str, tags: dict[str, list[str]],
                      sha256: str) -> dict[str, Any]:
    keep = ("author", "score", "created_at", "width", "height", "file_size", "parent_id", "status")
    return {
        "kind": "booru", "site": site, "post_id": int(post["id"]), "post_url": f"{site}/post/show/{int(post['id'])}",
        "md5": str(post["md5"]).lower(), "sha256": sha256, "media_url": url,
        "source_url": str(post.get("source") or ""), "rating": str(post.get("rating") or ""),
        "tag_string": str(post.get("tags") or ""), "tags": tags, "fetched_at": now_iso(),
        **{k: post.get(k) for k in keep if k in post},
    }


class BooruFetcher:
    def __init__(self, site: str, tags: str, out: str | Path, http: HttpClient, optout: OptOut | None = None,
                 page_size: int = 100, max_posts: int = 0, lookup_tag_types: bool = True,
                 max_bytes: int = 0, on_event: Event | None = None) -> None:
        self.site = normalize_site(site)
        self.tags = " ".join(tags.split())
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.http = http
        self.optout = optout or OptOut()
        self.page_size = max(1, min(page_size, 1000))
        self.max_posts = max_posts
        self.max_bytes = max_bytes
        self.client = MoebooruClient(self.site, http, self.out / TAG_CACHE)
        self.lookup_tag_types = lookup_tag_types
        self.state = FetchState(self.out)
        self.rejects = RejectLog(self.out)
        self.on_event = on_event
        self.summary = FetchSummary(query=f"{self.site} tags={self.tags!r}")

    def _event(self, kind: str, **data: Any) -> None:
        if self.on_event:
            self.on_event(kind, data)

    def run(self) -> FetchSummary:
        q = self.state.query(f"booru|{self.site}|{self.tags}")
        try:
            while not q["finished"] and not self._limit_reached():
                page = int(q["pages_done"]) + 1
                posts = self.client.posts(self.tags, page, self.page_size)
                for post in posts:
                    if self._limit_reached():
                        break
                    self.summary.posts_seen += 1
                    self.fetch_post(post)
                else:
                    q["pages_done"] = page  # a page counts as done only once every post on it was handled
                    self.summary.pages += 1
                if not posts or len(posts) < self.page_size:
                    q["finished"] = True
                self.state.save()
                self.client.save_cache()
                self._event("page", page=page, posts=len(posts))
        finally:
            self.client.save_cache()
            self.state.save()
        self.summary.finished = bool(q["finished"])
        self.summary.requests = self.http.requests
        return self.summary

    def _limit_reached(self) -> bool:
        return bool(self.max_posts) and self.summary.posts_seen >= self.max_posts

    def _reject(self, reason: str, post: dict[str, Any], **detail: Any) -> None:
        self.summary.reject(reason)
        self.rejects.add(reason, site=self.site, post_id=post.get("id"), **detail)
        self._event("reject", reason=reason, post_id=post.get("id"))

    def fetch_post(self, post: dict[str, Any]) -> str | None:
        """Handle one post; returns the media path written (or found), None when rejected."""
        pid, md5 = post.get("id"), str(post.get("md5") or "").lower()
        if not isinstance(pid, int) or isinstance(pid, bool) or pid < 0 or not _MD5.match(md5):
            self._reject("bad_post", post, detail="needs an integer id and a 32-hex md5")
            return None
        url = media_url(self.site, post)
        ext = media_ext(post, url)
        if not post.get("file_url") or f".{ext}" not in VIDEO_EXTENSIONS:
            self._reject("not_video", post, file_ext=ext, url=url)
            return None
        tag_list = str(post.get("tags") or "").split()
        why = self.optout.match(pid, tag_list, md5)
        if why:
            self._reject("opt_out", post, detail=why)
            return None
        target = inside(self.out, safe_name(f"{pid}.{ext}"))
        existing = read_sidecar(target)
        if target.exists() and existing.get("md5") == md5:
            self.summary.skipped_existing += 1
            return str(target)
        try:
            got = self.http.download(url, target, self.max_bytes)
        except HttpError as exc:
            self._reject(exc.kind, post, url=url, detail=str(exc))
            return None
        if got.md5 != md5:
            target.unlink(missing_ok=True)
            sidecar_path(target).unlink(missing_ok=True)
            self._reject("md5_mismatch", post, url=url, expected=md5, got=got.md5, size=got.size)
            return None
        tags = typed_tags(tag_list, self.client if self.lookup_tag_types else None)
        write_sidecar(target, provenance_record(self.site, post, url, tags, got.sha256))
        self.summary.downloaded += 1
        self._event("download", post_id=pid, path=str(target), size=got.size)
        return str(target)
