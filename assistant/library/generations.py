"""Generations of a library's collections, and the pointer that names the one in force.

A rebuild writes a new generation (`<name>.<generation>-chunks` and `-documents`) beside the
one that serves; the metadata of the collection `<name>-active` names the generation readers
use, so switching is one write. A library from before generations has the generation "" and
the collections `<name>-chunks` and `<name>-documents`.
"""

from __future__ import annotations

import re
import secrets


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
