"""Uploads: checked like any file ingest reads, then saved under `<data_dir>/uploads` only.

An upload's name comes from the browser, so it is untrusted: it may carry a folder path
("../../x.pdf", "/etc/x.pdf", "..\\x.md"), a NUL byte, control characters, or nothing usable.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from assistant.settings import Limits
from ingest.documents import ParseError, check_content, check_size

UPLOADS = "uploads"
UPLOAD_KINDS = {".pdf": "PDF", ".md": "Markdown", ".markdown": "Markdown"}
MAX_STEM_BYTES = 150  # file systems allow 255 bytes per name; leave room for the extension


class UnsafeUpload(ValueError):
    """An upload name that cannot be saved; the message says why."""


def safe_upload_path(data_dir: Path, filename: str) -> Path:
    """The absolute path under `data_dir/uploads` at which to save an upload called `filename`.

    Letters and digits of any script, '_' and '-' are kept; any other run of characters becomes
    one '-'; the extension is kept, lower-cased. A name with a folder part or a NUL byte, a name
    with nothing left once cleaned, and a name the uploads folder holds as a link to somewhere
    else are refused with UnsafeUpload.
    """
    if not isinstance(filename, str):
        raise UnsafeUpload("the file has no name")
    # NFKC first: a full-width solidus ("／") becomes "/" and is caught as a folder path below.
    name = unicodedata.normalize("NFKC", filename).strip()
    if "\x00" in name:
        raise UnsafeUpload("the file name contains a NUL byte")
    if re.search(r"[/\\]", name) or name in (".", ".."):
        raise UnsafeUpload("the file name contains a folder path; upload the file itself")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = _cut(re.sub(r"[^\w-]+", "-", stem).strip("-_"), MAX_STEM_BYTES)
    suffix = re.sub(r"[^A-Za-z0-9]+", "", suffix)[:10].lower()
    if not stem:
        raise UnsafeUpload("the file has no name")
    folder = (Path(data_dir) / UPLOADS).resolve()
    target = folder / (f"{stem}.{suffix}" if suffix else stem)
    if target.resolve().parent != folder:  # a link planted in the uploads folder
        raise UnsafeUpload("the file name is not allowed")
    return target


def _cut(text: str, max_bytes: int) -> str:
    """`text` shortened to at most `max_bytes` of UTF-8, never inside a character."""
    return text.encode()[:max_bytes].decode(errors="ignore").rstrip("-_")


def save_upload(data_dir: Path, name: str, data: bytes, limits: Limits) -> Path:
    """Save an upload under `data_dir/uploads` with a safe name, after the ingest checks.

    Raises UnsafeUpload, with the reason, for a name that cannot be saved, a type the app does
    not take, or content that ingest would refuse (too large, empty, not really a PDF, binary).
    """
    target = safe_upload_path(data_dir, name)
    if target.suffix.lower() not in UPLOAD_KINDS:
        raise UnsafeUpload("only PDF (.pdf) and Markdown (.md) files can be added")
    try:
        check_size(len(data), limits)
        check_content(target.suffix, data)
    except ParseError as exc:
        raise UnsafeUpload(str(exc)) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target
