"""One ingest at a time per data directory: a second one waits or stops with a clear message."""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path

# Lock files this thread already holds. The CLI takes the lock before it opens the store and
# the pipeline takes it again inside; a second flock on a new descriptor would refuse its own
# holder. Other threads (two app sessions ingesting at once) still go through flock and wait
# or get IngestBusy.
_held = threading.local()


class IngestBusy(RuntimeError):
    """Another ingest holds the library."""


@contextmanager
def ingest_lock(data_dir: Path, wait: bool = False):
    data_dir.mkdir(parents=True, exist_ok=True)
    path = (data_dir / "ingest.lock").resolve()
    held = _held.__dict__.setdefault("paths", set())
    if path in held:
        yield
        return
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise IngestBusy(
                f"Another ingest is running on {data_dir} ({holder}). Wait for it to finish, "
                "or run again with --wait to queue behind it."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        held.add(path)
        try:
            yield
        finally:
            held.discard(path)
            fcntl.flock(fh, fcntl.LOCK_UN)
