"""One ingest at a time per data directory: a second one waits or stops with a clear message.

`ingest.pipeline.ingest()` is the only taker, once per ingest; two app sessions ingesting at
once go through flock like two processes do, and the second waits or gets IngestBusy.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from assistant.datadir import owner_only_dir


class IngestBusy(RuntimeError):
    """Another ingest holds the library."""


@contextmanager
def ingest_lock(data_dir: Path, wait: bool = False):
    owner_only_dir(data_dir)
    with open(data_dir / "ingest.lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise IngestBusy(
                f"Another ingest is running on {data_dir} ({holder}). Wait for it to finish, "
                "or run again with --wait to queue behind it."
            ) from None
        try:  # who holds it, for the message above; a full disk must not stop the ingest here
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}")
            fh.flush()
        except OSError:
            pass
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
