"""A small client for OpenAI-compatible chat completions (vLLM, Ollama, llama.cpp server, hosted APIs).

Standard library only (``urllib``): captioning through an HTTP endpoint must not pull in an SDK. What it adds
over a bare POST is what a long annotation run needs:

* **retries** with exponential backoff and full jitter on connection errors and timeouts, on 5xx and on 429
  (whose ``Retry-After`` is honoured), never on other 4xx (a bad request does not get better by repeating);
* a **token-bucket rate limit** shared by every thread using the client (one client per worker process);
* **strict reply parsing**: no choices, empty content or a body that is not JSON raise ``MalformedReplyError``,
  so a clip gets an error row instead of an empty caption.
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import json
import random
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

RETRY_AFTER_MAX_S = 300.0  # a server asking for more than this is treated as asking for this


class EndpointError(RuntimeError):
    """The endpoint could not give a usable answer (after the retries, when the failure was retryable)."""


class HttpStatusError(EndpointError):
    def __init__(self, url: str, status: int, body: str) -> None:
        super().__init__(f"{url} answered HTTP {status}: {body[:300]}")
        self.status = status


class MalformedReplyError(EndpointError):
    """A 200 reply that holds no caption (no choices, empty content, not JSON)."""


# ------------------------------------------------------------------------------------------- pure parts
def backoff_delay(attempt: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(max, base·2^attempt)] — spreads the retries of
    many workers hitting the same overloaded server instead of synchronising them."""
    return rng.uniform(0.0, min(max_s, base_s * (2.0 ** attempt)))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(RETRY_AFTER_MAX_S, max(0.0, seconds))


_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


def reply_text(body: bytes | str) -> str:
    """The assistant text of a chat-completions reply; raises ``MalformedReplyError`` when there is none.

    ``content`` may be a string or a list of parts (``{"type": "text", "text": ...}``); a reasoning model's
    ``<think>…</think>`` block is dropped, and so are quotes wrapped around the whole answer."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedReplyError(f"reply is not JSON: {str(body)[:200]!r}") from exc
    if not isinstance(data, dict):
        raise MalformedReplyError(f"reply is not a JSON object: {str(data)[:200]}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        detail = data.get("error") or str(data)[:200]
        raise MalformedReplyError(f"reply has no choices: {detail}")
    first = choices[0] if isinstance(choices[0], dict) else {}
    message = first.get("message") if isinstance(first.get("message"), dict) else {}
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    text = _THINK.sub("", content if isinstance(content, str) else "").strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    if not text:
        raise MalformedReplyError(f"reply has empty content (finish_reason={first.get('finish_reason')!r})")
    return text


def image_part(data_url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": data_url}}


def user_message(text: str, data_urls: list[str]) -> list[dict[str, Any]]:
    """One user turn: the instruction, then the images in order (the layout every vision server accepts)."""
    return [{"role": "user", "content": [{"type": "text", "text": text}, *(image_part(u) for u in data_urls)]}]


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ------------------------------------------------------------------------------------------- rate limit
@dataclass
class TokenBucket:
    """``rate`` requests per second with bursts of at most ``capacity``; thread-safe. rate ≤ 0: no limit."""

    rate: float
    capacity: float = 1.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _tokens: float = field(init=False)
    _last: float = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._tokens = self.capacity
        self._last = self.clock()

    def acquire(self) -> None:
        if self.rate <= 0:
            return
        while True:
            with self._lock:
                now = self.clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                wait = (1.0 - self._tokens) / self.rate
            self.sleep(wait)


# ------------------------------------------------------------------------------------------- client
@dataclass
class ChatClient:
    """POST ``{base_url}/chat/completions``; ``base_url`` is the API root (e.g. ``http://host:8000/v1``)."""

    base_url: str
    api_key: str = ""
    timeout_s: float = 60.0
    retries: int = 3  # further attempts after the first
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    rate_per_s: float = 0.0
    seed: int | None = None  # jitter seed (tests)
    sleep: Callable[[float], None] = time.sleep
    attempts: int = field(init=False, default=0)  # HTTP requests sent (all threads), for reports

    def __post_init__(self) -> None:
        self.url = self.base_url.rstrip("/") + "/chat/completions"
        self.bucket = TokenBucket(self.rate_per_s, sleep=self.sleep)
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        # loopback endpoints (a local vLLM/Ollama) never go through an HTTP proxy from the environment
        handlers = [urllib.request.ProxyHandler({})] if is_loopback(self.url) else []
        self._opener = urllib.request.build_opener(*handlers)

    def chat(self, model: str, messages: list[dict[str, Any]], **options: Any) -> str:
        """The assistant's text for ``messages`` (extra ``options`` such as max_tokens go into the body)."""
        body = json.dumps({"model": model, "messages": messages, **options}).encode()
        return reply_text(self._post(body))

    def _post(self, body: bytes) -> bytes:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = ""
        for attempt in range(self.retries + 1):
            self.bucket.acquire()
            with self._lock:
                self.attempts += 1
            wait: float | None = None
            try:
                req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
                with self._opener.open(req, timeout=self.timeout_s) as resp:
                    return resp.read()
            except urllib.error.HTTPError as exc:
                text = _read_error_body(exc)
                if exc.code == 429:
                    wait = parse_retry_after(exc.headers.get("Retry-After") if exc.headers else None)
                elif exc.code < 500:
                    raise HttpStatusError(self.url, exc.code, text) from exc
                last = f"HTTP {exc.code}: {text[:200]}"
            except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, cut short
                reason = getattr(exc, "reason", exc)
                last = f"{type(reason).__name__}: {reason}"
            if attempt < self.retries:
                if wait is None:
                    with self._lock:
                        wait = backoff_delay(attempt, self.backoff_s, self.max_backoff_s, self._rng)
                self.sleep(wait)
        raise EndpointError(f"{self.url}: no answer after {self.retries + 1} attempt(s); last: {last}")


def _read_error_body(exc: urllib.error.HTTPError) -> str:
    try:
        return exc.read().decode("utf-8", "replace")
    except Exception:
        return ""
