"""Imported by the fork server as it starts (see ``processes.WORKER_MODULES``): remove its socket folder
when it exits.

Python's fork server listens on a Unix socket in a ``pymp-*`` folder that the *parent* process creates and
removes at its normal exit. When the parent is killed (``kill -9`` of a build, which toonset supports and
resumes from), nobody removes it and every kill leaves a folder in the temp directory. The fork server
exits on its own once the parent is gone; this makes it take the folder with it. Imported anywhere else,
the module does nothing.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import sys


def _forkserver_listener_fd() -> int | None:
    frame = sys._getframe(1)
    suffix = os.path.join("multiprocessing", "forkserver.py")
    while frame is not None:
        code = frame.f_code
        if code.co_name == "main" and code.co_filename.endswith(suffix):
            fd = frame.f_locals.get("listener_fd")
            return fd if isinstance(fd, int) else None
        frame = frame.f_back
    return None


def _register() -> None:
    fd = _forkserver_listener_fd()
    if fd is None:
        return
    try:
        with socket.socket(fileno=os.dup(fd)) as s:
            path = s.getsockname()
    except OSError:
        return
    if isinstance(path, str) and path:
        folder = os.path.dirname(path)
        if os.path.basename(folder).startswith("pymp-"):
            atexit.register(shutil.rmtree, folder, True)


_register()
