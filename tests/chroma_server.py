"""A real Chroma server for the test session, on 127.0.0.1 and a free port.

Import the fixture into a test module (`from tests.chroma_server import chroma_url`).
It runs the `chroma` command that the chromadb package installs beside the interpreter
(`chroma run --path <tmp> --host 127.0.0.1 --port <port>`), waits until its heartbeat
answers, and stops it at the end of the session. The server is part of the chromadb
dependency, so a server that does not start is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import free_port, stop

START_SECONDS = 60


def _chroma_command() -> Path:
    found = Path(sys.executable).parent / "chroma"
    if found.exists():
        return found
    which = shutil.which("chroma")
    if not which:
        pytest.fail("the `chroma` command of the chromadb package is not installed")
    return Path(which)


def heartbeat(url: str, timeout: float = 2.0) -> bool:
    """True when the server at `url` answers its v2 heartbeat."""
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


def start_chroma(data: Path, port: int, log: Path) -> subprocess.Popen:
    """`chroma run` on 127.0.0.1:`port` keeping its data in `data`, once its heartbeat answers
    (its output in `log`); stop it with `tests.processes.stop`."""
    url = f"http://127.0.0.1:{port}"
    # Chroma's product telemetry is off by default in the Rust server; the switch is set
    # anyway so no version of it reports anything from a test run.
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "NO_COLOR": "1"}
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(_chroma_command()), "run", "--path", str(data), "--host", "127.0.0.1",
             "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + START_SECONDS
    while not heartbeat(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            detail = log.read_text(errors="replace")[-2000:]
            pytest.fail(f"the Chroma server did not start on {url}:\n{detail}")
        time.sleep(0.2)
    return proc


@pytest.fixture(scope="session")
def chroma_url() -> Iterator[str]:
    """The http:// URL of a fresh Chroma server that keeps its data in a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="hrdd-chroma-"))
    port = free_port()
    proc = start_chroma(folder / "data", port, folder / "server.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)
        shutil.rmtree(folder, ignore_errors=True)
