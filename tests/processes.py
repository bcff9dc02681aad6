"""Helpers for tests that start real servers in child processes (Chroma, PostgreSQL, Streamlit)."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

# CI installs every system package the suite uses (scripts/system-deps.sh) and sets this, so
# there a missing server or browser fails the run instead of skipping its tests.
REQUIRE = "HRDD_REQUIRE_SYSTEM_DEPS"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen, seconds: float = 20) -> None:
    """Ask a child server to stop; kill it if it has not within `seconds`."""
    proc.terminate()
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=seconds)


def unavailable(reason: str) -> None:
    """Skip, saying why, on a developer's machine; fail where the suite must run whole (CI)."""
    if os.environ.get(REQUIRE):
        pytest.fail(f"{reason} ({REQUIRE} is set, so this fails instead of skipping)")
    pytest.skip(reason)
