"""The data folder is private, and a full disk is named as such.

The data folder holds what people asked and said (feedback), deal sessions and uploaded
documents, so what this app creates there is its owner's only: folders 0700, files 0600. An
existing folder that others can read is not changed, but warned about at start.

A write that fails because the disk is full surfaces as many things (an OSError, SQLite's
"database or disk is full", Chroma's "Error in compaction"); `no_space` recognises them and
says "no space left on <path>" in one line.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from pathlib import Path

PRIVATE_FILES = ("sessions.sqlite", "feedback.jsonl")
LOW_SPACE = 50 * 2**20  # a storage error with less free than this is taken for a full disk
STORAGE_MODULES = {"chromadb", "sqlite3", "sqlalchemy"}


class DiskFull(OSError):
    """A write failed for want of disk space; the message is "no space left on <path> ..."."""


def owner_only_dir(path: Path) -> Path:
    """`path` as a folder, each level created here made 0700 (existing ones are left)."""
    path = Path(path)
    missing = []
    for p in (path, *path.parents):
        if p.exists():
            break
        missing.append(p)
    for p in reversed(missing):
        try:
            p.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by another process or thread
            pass
    return path


def owner_only_file(path: Path) -> Path:
    """`path` created empty and 0600 if it does not exist (SQLite takes an empty file as an
    empty database, and gives its journal the database file's permissions)."""
    owner_only_dir(Path(path).parent)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    return Path(path)


def append_line(path: Path, line: str) -> None:
    """Append one line to a private (0600) file, all of it or nothing: a write cut short by a
    full disk is cut back off, so the file never ends in half a line."""
    owner_only_dir(Path(path).parent)
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    fd = os.open(path, os.O_APPEND | os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        size = os.fstat(fd).st_size
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as exc:
            os.ftruncate(fd, size)
            raise DiskFull(no_space(exc, path) or f"cannot write {path} ({exc.strerror})") \
                from None
    finally:
        os.close(fd)


def no_space(exc: BaseException, path: Path | str, local: bool = True) -> str | None:
    """"no space left on <path> (N MB free)" if `exc` came from a full disk, else None.

    A storage error (OSError, SQLite's or Chroma's) counts when it says so, or, on a `local`
    path, when the disk holding it has almost nothing free: Chroma does not say why it failed.
    """
    storage = isinstance(exc, OSError) or type(exc).__module__.split(".")[0] in STORAGE_MODULES
    if not storage:
        return None
    full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
    text = str(exc).lower()
    full = full or "no space left" in text or "disk is full" in text or "disk full" in text
    free = None
    if local:
        try:
            free = shutil.disk_usage(_existing(Path(path))).free
        except OSError:
            pass
    if not full and (free is None or free >= LOW_SPACE):
        return None
    return f"no space left on {path}" + (f" ({_size(free)} free)" if free is not None else "")


def disk_problem(exc: OSError, path: Path) -> str:
    """One line for a failed write: the full disk, or the system's reason."""
    return no_space(exc, path) or f"cannot write to {path} ({exc.strerror or exc})"


def warnings(data_dir: Path) -> list[str]:
    """One line for the data folder and each private file in it that others can read."""
    out = []
    for p in (Path(data_dir), *(Path(data_dir) / name for name in PRIVATE_FILES)):
        try:
            mode = p.stat().st_mode
        except OSError:
            continue
        if mode & 0o077:
            what = "The data folder" if p == Path(data_dir) else "The file"
            fix = "chmod -R go-rwx" if stat.S_ISDIR(mode) else "chmod 600"
            out.append(f"{what} {p.resolve()} can be read by other users on this machine "
                       f"({stat.filemode(mode)}); it holds questions, deal sessions and "
                       f"documents. Make it private: {fix} {p.resolve()}")
    return out


def _existing(path: Path) -> Path:
    for p in (path, *path.parents):
        if p.exists():
            return p
    return Path("/")


def _size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


def private_sessions_file(settings) -> None:
    """The default SQLite file of deal sessions, created 0600 before SQLAlchemy opens it (and
    would create it readable by everyone)."""
    if not settings.database_url:
        owner_only_file(Path(settings.data_dir) / "sessions.sqlite")
