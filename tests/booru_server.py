"""A fake Moebooru site on 127.0.0.1 for offline fetch tests: post.json pages, tag.json, media files.

It serves whatever the test puts in ``posts`` (paged by ``page``/``limit`` like Moebooru), ``tags``
(name → type) or ``tag_json`` (a recorded response), and ``files`` (path → bytes). ``fail`` makes a path
answer an HTTP status a number of times first. Every request is logged with its arrival time.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeBooru:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.tags: dict[str, int] = {}
        self.tag_json: list[dict[str, Any]] | None = None
        self.files: dict[str, bytes] = {}
        self.content_types: dict[str, str] = {}
        self.fail: dict[str, list[int]] = {}  # path -> statuses to answer first, in order
        self.log: list[tuple[float, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner.log.append((time.monotonic(), self.path))
                owner.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeBooru:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def paths(self, prefix: str) -> list[str]:
        return [p for _, p in self.log if p.startswith(prefix)]

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        if status == 503:
            h.send_header("Retry-After", "0")
        h.end_headers()
        h.wfile.write(body)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        pending = self.fail.get(parts.path)
        if pending:
            self._send(h, pending.pop(0), b"try again", "text/plain")
            return
        if parts.path == "/post.json":
            page, limit = int(query.get("page", 1)), int(query.get("limit", 100))
            body = json.dumps(self.posts[(page - 1) * limit : page * limit]).encode()
            self._send(h, 200, body, "application/json")
        elif parts.path == "/tag.json":
            name = query.get("name", "")
            if self.tag_json is not None:
                data = self.tag_json
            else:
                data = [{"id": 1, "name": name, "count": 1, "type": self.tags[name], "ambiguous": False}] \
                    if name in self.tags else []
            self._send(h, 200, json.dumps(data).encode(), "application/json")
        elif parts.path in self.files:
            self._send(h, 200, self.files[parts.path], self.content_types.get(parts.path, "video/mp4"))
        else:
            self._send(h, 404, b"not found", "text/plain")
