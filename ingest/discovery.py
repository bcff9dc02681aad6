"""Which files an ingest takes from the paths it is given, and the outcome of each file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ingest.documents import SUPPORTED

SKIP_NAMES = {"readme.md", "license.md", "contributing.md"}


@dataclass(frozen=True)
class FileOutcome:
    path: str
    outcome: str  # added, updated, unchanged, failed, removed
    doc_id: str = ""
    reason: str = ""
    chunks: int = 0

    def to_dict(self) -> dict:
        return {"path": self.path, "doc_id": self.doc_id, "outcome": self.outcome,
                "reason": self.reason, "chunks": self.chunks}


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[FileOutcome], list[str]]:
    """Files to ingest; outcomes for paths that cannot be; names of files ignored in folders."""
    files, problems, ignored = [], [], []
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).parts
                if not f.is_file() or any(part.startswith(".") for part in rel):
                    continue
                if f.suffix.lower() in SUPPORTED and f.name.lower() not in SKIP_NAMES:
                    files.append(f)
                else:
                    ignored.append(str(f))
        elif p.is_file():
            files.append(p)
        else:
            problems.append(FileOutcome(str(p), "failed", reason="no such file or folder"))
    seen, unique = set(), []
    for f in files:
        if f.resolve() not in seen:
            seen.add(f.resolve())
            unique.append(f)
    return unique, problems, ignored
