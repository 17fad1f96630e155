"""What a fetch keeps in its DOWNLOADS folder: a resumable state file and a log of rejected items.

* ``fetch-state.json`` — per query (site + tags, or a URL list): pages completed and whether the query is
  exhausted; rewritten atomically after every page, so a killed fetch resumes at the page it was on.
* ``rejects.jsonl`` — one JSON line per item not downloaded (opt-out, md5 mismatch, HTTP error, not a
  video), with the reason, so nothing is dropped silently. Re-running retries everything but opt-outs
  (which are checked again anyway).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from toonset.store.atomic import atomic_write_text

STATE_FILE = "fetch-state.json"
REJECTS_FILE = "rejects.jsonl"


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class FetchState:
    def __init__(self, folder: Path) -> None:
        self.path = folder / STATE_FILE
        try:
            self.data: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {}
        except (OSError, json.JSONDecodeError):
            self.data = {}
        self.data.setdefault("queries", {})

    def query(self, key: str) -> dict[str, Any]:
        return self.data["queries"].setdefault(key, {"pages_done": 0, "finished": False})

    def save(self) -> None:
        self.data["updated"] = now_iso()
        atomic_write_text(self.path, json.dumps(self.data, indent=1, sort_keys=True, ensure_ascii=False))


class RejectLog:
    def __init__(self, folder: Path) -> None:
        self.path = folder / REJECTS_FILE
        self.count = 0

    def add(self, reason: str, **fields: Any) -> None:
        """Append one rejected item (a whole line per write, flushed)."""
        row = {"at": now_iso(), "reason": reason, **fields}
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")
            fh.flush()
        self.count += 1


def read_rejects(folder: str | Path) -> list[dict[str, Any]]:
    path = Path(folder) / REJECTS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
