"""How local worker processes are started (light: imports nothing heavy, so the CLI can call it first).

Where the platform has it, workers are forked from a *fork server*: a clean process that imports the
worker's modules (numpy, OpenCV, PyAV, pyarrow, the analyzers) once, then forks a ready worker in a few
milliseconds. ``spawn`` instead starts every worker as a fresh interpreter that imports all of that again
(~0.3 s each, at the start of every build and for every replacement of a crashed worker). Forking from
the fork server, not from the coordinating process, keeps workers free of the parent's threads (the
progress bar), locks and open files (the build lock, the other workers' pipes).

``toonset build`` starts the fork server before its own imports, so both happen at once.
``TOONSET_START_METHOD=spawn`` (or ``fork``) overrides the choice.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from multiprocessing.context import BaseContext

from toonset.errors import UsageError

# what every worker imports; the fork server imports it once (the first one tidies up after the fork server)
WORKER_MODULES = ["toonset.executors.forkserver_cleanup", "toonset.executors.local",
                  "toonset.pipeline.analyze_stage"]


def start_method() -> str:
    wanted = os.environ.get("TOONSET_START_METHOD", "").strip().lower()
    available = mp.get_all_start_methods()
    if wanted:
        if wanted not in available:
            raise UsageError(f"TOONSET_START_METHOD={wanted!r}: this platform has {', '.join(available)}")
        return wanted
    return "forkserver" if "forkserver" in available else "spawn"


def worker_context() -> BaseContext:
    """The multiprocessing context local workers are started with."""
    method = start_method()
    ctx = mp.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(WORKER_MODULES)
    return ctx


def prestart_workers() -> None:
    """Start the fork server now (it imports the worker modules while the caller does its own work)."""
    if worker_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()
