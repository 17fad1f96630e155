"""Polite HTTP(S) with the standard library: a token-bucket rate limit, retries with backoff, streaming.

Every request of a fetch (API pages, tag look-ups, media files) goes through one :class:`HttpClient`, so
the limit holds for the whole run: ``rate`` requests per second sustained, at most ``burst`` at once.
Transient failures (connection errors, timeouts, HTTP 429 and 5xx) are retried with exponential backoff
and jitter, honouring ``Retry-After``; other HTTP errors fail at once with :class:`HttpError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from toonset import __version__
from toonset.store.atomic import atomic_open

USER_AGENT = f"toonset/{__version__} (+https://github.com/toonset/toonset)"
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
CHUNK = 1 << 16


class HttpError(Exception):
    """A request that failed for good: ``status`` is the HTTP status, or 0 for a network error."""

    def __init__(self, url: str, status: int, message: str) -> None:
        super().__init__(f"{message} ({url})")
        self.url = url
        self.status = status
        self.kind = f"http_{status}" if status else "network_error"


class TokenBucket:
    """At most ``burst`` requests at once and ``rate`` per second sustained. ``clock``/``sleep`` are
    injectable so tests can check the schedule without waiting."""

    def __init__(self, rate: float, burst: int = 1, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst = rate, burst
        self.clock, self.sleep = clock, sleep
        self.tokens = float(burst)
        self.stamp = clock()
        self.waited = 0.0

    def acquire(self) -> float:
        """Take one token, sleeping until one is there; returns the seconds waited."""
        now = self.clock()
        self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        wait = 0.0
        if self.tokens < 1.0:
            wait = (1.0 - self.tokens) / self.rate
            self.sleep(wait)
            self.stamp = self.clock()
            self.tokens = 1.0
        self.tokens -= 1.0
        self.waited += wait
        return wait


@dataclass
class Download:
    path: str
    size: int
    md5: str
    sha256: str
    content_type: str


def check_url(url: str) -> str:
    """Refuse anything but http(s) URLs (no file:, ftp:, data: ...)."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise HttpError(url, 0, f"refusing a {scheme or 'relative'} URL")
    return url


class HttpClient:
    def __init__(self, rate: float = 1.0, burst: int = 1, retries: int = 4, backoff: float = 2.0,
                 timeout: float = 60.0, max_backoff: float = 120.0, bucket: TokenBucket | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.bucket = bucket or TokenBucket(rate, burst, sleep=sleep)
        self.retries, self.backoff, self.timeout, self.max_backoff = retries, backoff, timeout, max_backoff
        self.sleep = sleep
        self.requests = 0
        self.retried = 0

    def _open(self, url: str):
        """Open ``url`` under the rate limit, retrying transient failures; returns the response."""
        check_url(url)
        attempt = 0
        while True:
            self.bucket.acquire()
            self.requests += 1
            req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
            try:
                return urllib.request.urlopen(req, timeout=self.timeout)
            except urllib.error.HTTPError as exc:
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                exc.close()
                if exc.code not in RETRY_STATUS or attempt >= self.retries:
                    raise HttpError(url, exc.code, f"HTTP {exc.code} {exc.reason}") from None
                delay = _retry_after(retry_after)
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                if attempt >= self.retries:
                    raise HttpError(url, 0, f"network error: {getattr(exc, 'reason', exc)}") from None
                delay = None
            attempt += 1
            self.retried += 1
            self.sleep(min(self.max_backoff, delay if delay is not None
                           else self.backoff * 2 ** (attempt - 1) * (0.5 + random.random())))

    def get_json(self, url: str) -> Any:
        with self._open(url) as resp:
            body = resp.read()
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HttpError(url, 0, f"not JSON: {exc}") from None

    def download(self, url: str, path: str | os.PathLike, max_bytes: int = 0) -> Download:
        """Stream ``url`` to ``path`` atomically, hashing on the way (md5 and sha256). A short read (fewer
        bytes than Content-Length) is retried like a network error; ``max_bytes`` > 0 caps the size."""
        attempt = 0
        while True:
            try:
                return self._download_once(url, path, max_bytes)
            except _ShortRead as exc:
                if attempt >= self.retries:
                    raise HttpError(url, 0, str(exc)) from None
                attempt += 1
                self.retried += 1
                self.sleep(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))

    def _download_once(self, url: str, path: str | os.PathLike, max_bytes: int) -> Download:
        md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
        size = 0
        with self._open(url) as resp:
            expected = resp.headers.get("Content-Length")
            ctype = resp.headers.get("Content-Type", "")
            with atomic_open(path, "wb") as fh:
                while block := resp.read(CHUNK):
                    size += len(block)
                    if max_bytes and size > max_bytes:
                        raise HttpError(url, 0, f"file larger than the {max_bytes}-byte limit")
                    md5.update(block)
                    sha.update(block)
                    fh.write(block)
                if expected is not None and expected.isdigit() and int(expected) != size:
                    raise _ShortRead(f"got {size} of {expected} bytes")
        return Download(str(path), size, md5.hexdigest(), sha.hexdigest(), ctype)


class _ShortRead(Exception):
    pass


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None
