"""The small frozen records the assistant hands to the CLI, the UI and the evaluations."""

from __future__ import annotations

from dataclasses import dataclass, field

# What every surface (CLI, app) says with an answer whose `weak_match` is set.
WEAK_MATCH = ("The library matches this question only loosely: the passages below are the "
              "closest it has, and they may not address your situation. Check them before "
              "relying on them.")


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk of a library document, with its scores."""

    chunk_id: str
    doc_id: str
    title: str
    kind: str
    text: str
    page: int | None = None
    section: str | None = None
    start: int = 0
    end: int = 0
    score: float = 0.0
    dense_score: float | None = None
    keyword_score: float | None = None
    source: str = ""
    context: str = ""

    @property
    def location(self) -> str:
        """Where a reader finds the passage: a page or a section heading."""
        if self.page is not None:
            return f"page {self.page}"
        return f"section {self.section}" if self.section else "whole document"


@dataclass(frozen=True)
class Citation:
    """A numbered source in an answer: which document, where, and the exact words relied on."""

    n: int
    doc_id: str
    title: str
    quote: str
    page: int | None = None
    section: str | None = None
    start: int = 0
    end: int = 0
    passage: str = ""

    @property
    def location(self) -> str:
        if self.page is not None:
            return f"page {self.page}"
        return f"section {self.section}" if self.section else "whole document"

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "page": self.page,
            "section": self.section,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True)
class Answer:
    """What the assistant says to a question, and everything needed to check it."""

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    declined: bool = False
    passages: tuple[Passage, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    mode: str = "extractive"
    notice: str | None = None
    unsupported: tuple[str, ...] = ()
    weak_match: bool = False  # answered, but the library matches the question only loosely

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "text": self.text,
            "declined": self.declined,
            "weak_match": self.weak_match,
            "mode": self.mode,
            "notice": self.notice,
            "citations": [c.to_dict() for c in self.citations],
            "unsupported": list(self.unsupported),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }
