"""One ingest at a time per library: a second one waits or stops with a clear message.

`ingest.pipeline.ingest()` and `remove()` are the only takers. Two locks, both held:

- a file lock (flock) in the data directory, for processes on this machine;
- when `HRDD_DATABASE_URL` is PostgreSQL, a PostgreSQL advisory lock keyed by the library
  (the Chroma server's address and collection, or this data folder): app processes and CLI
  ingests on other machines that share the Chroma server and the database wait for each other
  too. Without it, two machines would each take their own file lock and the last writer wins.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
from contextlib import contextmanager, nullcontext
from pathlib import Path

from assistant.datadir import owner_only_dir

BUSY = "Wait for it to finish, or run again with --wait to queue behind it."


class IngestBusy(RuntimeError):
    """Another ingest holds the library."""


@contextmanager
def ingest_lock(data_dir: Path, wait: bool = False, database_url: str | None = None,
                library: str = ""):
    """Hold the library for one ingest; `library` names it for the shared lock."""
    owner_only_dir(data_dir)
    shared = database_url and database_url.startswith("postgresql")
    with _file_lock(data_dir, wait), \
            (_advisory_lock(database_url, library or str(data_dir.resolve()), wait) if shared
             else nullcontext()):
        yield


@contextmanager
def _file_lock(data_dir: Path, wait: bool):
    with open(data_dir / "ingest.lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise IngestBusy(f"Another ingest is running on {data_dir} ({holder}). {BUSY}") \
                from None
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


def lock_key(library: str) -> int:
    """The advisory lock's key: a signed 64-bit number from the library's name."""
    return int.from_bytes(hashlib.sha256(f"hrdd-ingest:{library}".encode()).digest()[:8],
                          "big", signed=True)


@contextmanager
def _advisory_lock(database_url: str, library: str, wait: bool):
    """A session-level advisory lock on its own connection, released when the ingest ends
    (or by the server when this process dies and the connection drops)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    me = f"hrdd ingest, pid {os.getpid()} on {socket.gethostname()}"[:63]
    engine = create_engine(database_url, poolclass=NullPool,
                           connect_args={"application_name": me})
    key = lock_key(library)
    try:
        with engine.connect() as conn:
            if wait:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            elif not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                holder = conn.execute(text(
                    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a "
                    "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND "
                    "l.objid = (:k & 4294967295) AND l.classid = ((:k >> 32) & 4294967295)"),
                    {"k": key}).scalar() or "another machine"
                raise IngestBusy(f"Another ingest is running on this library ({holder}). {BUSY}")
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
    finally:
        engine.dispose()
