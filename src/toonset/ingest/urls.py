"""Fetch plain HTTP(S) URL lists into a DOWNLOADS folder, with a provenance sidecar per file.

A list has one URL per line, optionally followed by the file's md5 (checked after download); ``#``
starts a comment. Each file is saved as ``<8 hex of the URL's sha1>-<safe name from the URL path>`` so
two URLs never collide and no name from the network can leave the folder; a name without a video
extension takes one from the Content-Type (``video/mp4`` → ``.mp4``) or is rejected as ``not_video``.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from toonset.errors import UsageError
from toonset.ingest.booru import FetchSummary
from toonset.ingest.fetchlog import RejectLog, now_iso
from toonset.ingest.http import HttpClient, HttpError, check_url
from toonset.ingest.local import VIDEO_EXTENSIONS
from toonset.ingest.provenance import read_sidecar, write_sidecar
from toonset.store.atomic import inside, safe_name

_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")
CONTENT_TYPES = {"video/mp4": ".mp4", "video/webm": ".webm", "image/gif": ".gif", "video/x-matroska": ".mkv",
                 "video/quicktime": ".mov", "video/x-msvideo": ".avi", "video/mp2t": ".ts"}
Event = Callable[[str, dict[str, Any]], None]


def parse_url_list(text: str, origin: str = "URL list") -> list[tuple[str, str]]:
    """[(url, md5 or "")] from the list text; ``UsageError`` for a malformed line."""
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        comment = next((i for i, p in enumerate(parts) if i and p.startswith("#")), len(parts))
        parts = parts[:comment]
        url, md5 = parts[0], (parts[1] if len(parts) > 1 else "")
        if urllib.parse.urlsplit(url).scheme not in ("http", "https") or len(parts) > 2 or (md5 and not _MD5.match(md5)):
            raise UsageError(f"{origin} line {n}: expected 'URL [md5]' with an http(s) URL, got {line!r}")
        out.append((url, md5.lower()))
    return out


def file_name(url: str) -> str:
    """``<sha1[:8]>-<last path segment>`` made safe."""
    tag = hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()[:8]
    base = PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name or "download"
    return safe_name(f"{tag}-{base}")


def fetch_url_list(list_path: str | Path, out: str | Path, http: HttpClient, max_bytes: int = 0,
                   on_event: Event | None = None) -> FetchSummary:
    try:
        entries = parse_url_list(Path(list_path).read_text(encoding="utf-8"), str(list_path))
    except OSError as exc:
        raise UsageError(f"cannot read URL list {list_path}: {exc.strerror or exc}") from exc
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rejects = RejectLog(out)
    summary = FetchSummary(query=f"urls {Path(list_path).name}")
    for url, md5 in entries:
        summary.posts_seen += 1
        try:
            check_url(url)
            name = file_name(url)
            known = [p for p in out.glob(f"{name[:9]}*") if p.suffix in VIDEO_EXTENSIONS]
            if known and read_sidecar(known[0]).get("media_url") == url:
                summary.skipped_existing += 1
                continue
            part = inside(out, f".{name}.download")
            got = http.download(url, part, max_bytes)
            ext = Path(name).suffix.lower()
            if ext not in VIDEO_EXTENSIONS:
                ext = CONTENT_TYPES.get(got.content_type.split(";")[0].strip().lower(), "")
                ext = ext or (mimetypes.guess_extension(got.content_type.split(";")[0].strip()) or "")
                if ext not in VIDEO_EXTENSIONS:
                    part.unlink(missing_ok=True)
                    raise _Reject("not_video", {"content_type": got.content_type})
                name = safe_name(name + ext)
            if md5 and got.md5 != md5:
                part.unlink(missing_ok=True)
                raise _Reject("md5_mismatch", {"expected": md5, "got": got.md5, "size": got.size})
            target = inside(out, name)
            part.replace(target)
            write_sidecar(target, {"kind": "url", "media_url": url, "md5": got.md5, "sha256": got.sha256,
                                   "content_type": got.content_type, "size": got.size, "fetched_at": now_iso()})
            summary.downloaded += 1
            if on_event:
                on_event("download", {"url": url, "path": str(target), "size": got.size})
        except HttpError as exc:
            summary.reject(exc.kind)
            rejects.add(exc.kind, url=url, detail=str(exc))
        except _Reject as rej:
            summary.reject(rej.reason)
            rejects.add(rej.reason, url=url, **rej.detail)
    summary.finished = True
    summary.requests = http.requests
    return summary


class _Reject(Exception):
    def __init__(self, reason: str, detail: dict[str, Any]) -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail
