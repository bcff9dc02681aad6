"""Generations of a library's collections, and the pointer that names the one in force.

A rebuild writes a new generation (`<name>.<generation>-chunks` and `-documents`) beside the
one that serves; the metadata of the collection `<name>-active` names the generation readers
use, so switching is one write. A library from before generations has the generation "" and
the collections `<name>-chunks` and `<name>-documents`.
"""

from __future__ import annotations

import os
import re
import secrets
import time


def new_generation() -> str:
    return secrets.token_hex(4)


def collection_names(name: str, generation: str) -> tuple[str, str]:
    """The chunks and documents collections of one generation."""
    prefix = f"{name}.{generation}" if generation else name
    return f"{prefix}-chunks", f"{prefix}-documents"


def active(client, name: str) -> str:
    """The generation the pointer names ("" where there is no pointer yet)."""
    from chromadb.errors import NotFoundError  # chromadb is loaded: the client is open

    try:
        pointer = client.get_collection(f"{name}-active")
    except NotFoundError:
        return ""
    return str((pointer.metadata or {}).get("generation", ""))


def switch(client, name: str, generation: str) -> None:
    """Point readers at `generation`: one metadata write."""
    pointer = client.get_or_create_collection(f"{name}-active", embedding_function=None)
    pointer.modify(metadata={"generation": generation})


def drop(client, name: str, generation: str) -> None:
    for collection in collection_names(name, generation):
        try:
            client.delete_collection(collection)
        except Exception:  # noqa: BLE001 - absent already; nothing to drop
            pass


def others(client, name: str, keep: str) -> list[str]:
    """Generations of library `name` other than `keep`: rebuilds killed before their switch,
    and a generation a switch replaced if the process died before dropping it."""
    own = re.compile(rf"{re.escape(name)}(?:\.([0-9a-f]{{8}}))?-(?:chunks|documents)")
    found = set()
    for col in client.list_collections():
        m = own.fullmatch(getattr(col, "name", col))
        if m and (m.group(1) or "") != keep:
            found.add(m.group(1) or "")
    return sorted(found)


# The local Chroma database: any write by any process changes one of these files.
DATABASE_FILES = ("chroma.sqlite3", "chroma.sqlite3-wal", "chroma.sqlite3-journal")
SETTLED_NS = 1_000_000_000


def database_stamp(folder: str) -> tuple | None:
    """Size and time of a local Chroma database's files, or None when one was written in the
    last second (file times are coarser than two quick writes: then the caller reads)."""
    stamp = []
    for name in DATABASE_FILES:
        try:
            st = os.stat(os.path.join(folder, name))
        except FileNotFoundError:
            stamp.append(None)
            continue
        if time.time_ns() - st.st_mtime_ns < SETTLED_NS:
            return None
        stamp.append((st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(stamp)
