"""A fake OpenAI-compatible chat-completions server on 127.0.0.1 (a thread) for the caption tests.

``POST /v1/chat/completions`` is answered by the replies in ``script`` first (in order), then by
``responder(request)`` (default: a good caption). A ``Reply`` can carry any status, headers and body, and a
``delay_s`` slept before answering (to make the client time out). Every request is kept in ``requests`` with
its arrival time, headers and parsed JSON body.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON; str/bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Received:
    at: float  # time.monotonic() on arrival
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    def images(self) -> list[str]:
        """The image URLs of the request's messages, in order."""
        return [part["image_url"]["url"] for m in self.body.get("messages", [])
                for part in (m.get("content") if isinstance(m.get("content"), list) else [])
                if part.get("type") == "image_url"]

    def text(self) -> str:
        return " ".join(part.get("text", "") for m in self.body.get("messages", [])
                        for part in (m.get("content") if isinstance(m.get("content"), list) else [])
                        if part.get("type") == "text")


def completion(text: str, model: str = "fake-vlm") -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": len(text.split()), "total_tokens": 10}}


def ok(text: str) -> Reply:
    return Reply(200, completion(text))


DEFAULT_CAPTION = ("A girl with short black hair runs across a sunlit rooftop, her coat flapping behind her as "
                   "the camera pans to follow. She leaps over a gap between two buildings and lands in a crouch, "
                   "then looks back over her shoulder at the city skyline under a clear blue sky.")


class FakeOpenAI:
    def __init__(self, responder: Callable[[Received], Reply] | None = None) -> None:
        self.script: list[Reply] = []
        self.responder = responder or (lambda req: ok(DEFAULT_CAPTION))
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                at = time.monotonic()
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                req = Received(at, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with owner._lock:
                    owner.requests.append(req)
                    reply = owner.script.pop(0) if owner.script else None
                if reply is None:
                    reply = Reply(404, {"error": "not found"}) if not self.path.endswith("/chat/completions") \
                        else owner.responder(req)
                owner._send(self, reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        if reply.delay_s:
            time.sleep(reply.delay_s)
        body = reply.body
        if isinstance(body, (dict, list)):
            data, ctype = json.dumps(body).encode(), "application/json"
        else:
            data = body.encode() if isinstance(body, str) else (body or b"")
            ctype = "text/plain"
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", ctype)
            handler.send_header("Content-Length", str(len(data)))
            for k, v in reply.headers.items():
                handler.send_header(k, v)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to answer

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
