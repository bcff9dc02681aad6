"""Uploads: checked like any file ingest reads, then saved under `<data_dir>/uploads` only.

An upload's name comes from the browser, so it is untrusted: it may carry a folder path
("../../x.pdf", "/etc/x.pdf", "..\\x.md"), a NUL byte, control characters, or nothing usable.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from assistant.datadir import disk_problem, owner_only_dir
from assistant.settings import Limits
from ingest.documents import ParseError, check_content, check_size

UPLOADS = "uploads"
UPLOAD_KINDS = {".pdf": "PDF", ".md": "Markdown", ".markdown": "Markdown"}
MAX_STEM_BYTES = 150  # file systems allow 255 bytes per name; leave room for the extension
MAX_SAME_NAME = 50  # different files whose names clean to one name: name-2 ... name-50


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


def upload_target(data_dir: Path, filename: str) -> Path:
    """`safe_upload_path`, for a file of a type the app takes (UnsafeUpload otherwise)."""
    target = safe_upload_path(data_dir, filename)
    if target.suffix.lower() not in UPLOAD_KINDS:
        raise UnsafeUpload("only PDF (.pdf) and Markdown (.md) files can be added")
    return target


def _cut(text: str, max_bytes: int) -> str:
    """`text` shortened to at most `max_bytes` of UTF-8, never inside a character."""
    return text.encode()[:max_bytes].decode(errors="ignore").rstrip("-_")


@dataclass(frozen=True)
class SavedUpload:
    """Where an upload was saved; `created` is False when the same file was there already, and
    `note` says why it was saved under another name than its own, if it was."""

    path: Path
    created: bool = True
    note: str = ""


def save_upload(data_dir: Path, name: str, data: bytes, limits: Limits) -> SavedUpload:
    """Save an upload under `data_dir/uploads` with a safe name, after the ingest checks.

    Never overwrites: the same file again is left as it is (ingest finds it unchanged); another
    file whose name cleans to a name taken ("Export policy (v2).md" and "Export-policy-v2.md")
    is saved as "Export-policy-v2-2.md", with a note. Raises UnsafeUpload, with the reason, for
    a name that cannot be saved, a type the app does not take, or content that ingest would
    refuse (too large, empty, not really a PDF, binary).
    """
    target = upload_target(data_dir, name)
    try:
        check_size(len(data), limits)
        check_content(target.suffix, data)
    except ParseError as exc:
        raise UnsafeUpload(str(exc)) from None
    folder = target.parent
    owner_only_dir(folder)
    tmp = _write_temp(folder, data)
    try:
        for n in range(1, MAX_SAME_NAME + 1):
            candidate = target if n == 1 else target.with_stem(f"{target.stem}-{n}")
            if candidate.is_file() and candidate.read_bytes() == data:
                return SavedUpload(candidate, created=False)
            try:
                os.link(tmp, candidate)  # atomic, and fails if the name is taken: no overwrite
            except FileExistsError:
                continue
            note = "" if n == 1 else (f"saved as {candidate.name}: a different file is already "
                                      f"saved as {target.name} (to replace a document, remove "
                                      "it first)")
            return SavedUpload(candidate, note=note)
        raise UnsafeUpload(f"{MAX_SAME_NAME} different files are already saved as "
                           f"{target.name}; rename this one")
    finally:
        tmp.unlink(missing_ok=True)


def _write_temp(folder: Path, data: bytes) -> Path:
    """The upload in a hidden temporary file (ingest skips hidden files), flushed to disk;
    removed again, and a full disk named, if it cannot be written whole."""
    fd, name = tempfile.mkstemp(prefix=".upload-", dir=folder)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UnsafeUpload(disk_problem(exc, folder)) from None
    return tmp
