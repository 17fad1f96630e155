"""A throw-away single-node Ray cluster on 127.0.0.1 for tests that join a running cluster (``--address``).

Started with ``ray start --head --block`` in its own session and temp dir, so it cannot be confused with any
other Ray instance on the machine, and stopped by killing that session's process group (only ours).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# clients of a token-auth cluster (Ray enables tokens for new clusters) must say so; the token is ~/.ray/auth_token
CLIENT_ENV = {"RAY_AUTH_MODE": "token", "RAY_USAGE_STATS_ENABLED": "0"}
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", **CLIENT_ENV}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def loopback_cluster(cpus: int = 2, start_timeout: float = 60.0) -> Iterator[str]:
    """Yield the address ("127.0.0.1:port") of a fresh head node; tear it down afterwards."""
    port = _free_port()
    tmp = tempfile.mkdtemp(prefix="tsray", dir="/tmp")  # short: Ray's unix socket paths must fit 107 bytes
    ray_cli = Path(sys.executable).with_name("ray")
    log = open(os.path.join(tmp, "head.log"), "w")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1",
         f"--num-cpus={cpus}", "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={tmp}"],
        env={**os.environ, **LOOPBACK_ENV}, start_new_session=True, stdout=log, stderr=subprocess.STDOUT,
    )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"ray start exited with {proc.returncode}: {Path(tmp, 'head.log').read_text()}")
            text = Path(tmp, "head.log").read_text()
            if "Ray runtime started" in text:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"ray head did not start in {start_timeout} s: {text[-2000:]}")
            time.sleep(0.2)
        yield address
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the head's services; its workers exit with the raylet
        proc.wait(30)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
