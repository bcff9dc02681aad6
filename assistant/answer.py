"""The small frozen records the assistant hands to the CLI, the UI and the evaluations.

An `Answer` carries everything a surface shows: the text, its warnings (in the order they
are shown), the nearest documents of a declined question, the sentences verification could
not match, and the citations. Surfaces render these fields; none works them out again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# What every surface says with an answer whose `weak_match` is set.
WEAK_MATCH = ("The library matches this question only loosely: the passages below are the "
              "closest it has, and they may not address your situation. Check them before "
              "relying on them.")
DECLINE = ("The library does not cover this question, so I cannot answer it from the guidance. "
           "The nearest documents are listed below; you may want to add guidance on this topic.")
UNSUPPORTED = "Not supported by the cited sources (check before relying on them):"


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
    doc_hash: str = ""  # the document version it comes from

    @property
    def location(self) -> str:
        """Where a reader finds the passage: a page or a section heading."""
        return location(self.page, self.section)


def location(page: int | None, section: str | None) -> str:
    if page is not None:
        return f"page {page}"
    return f"section {section}" if section else "whole document"


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
        return location(self.page, self.section)

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


LEGAL_NOTE = ("This is guidance from the library, not legal advice: check export-licensing and "
              "legal questions with your legal or export-control team.")
ANSWERS = "The library's answer to"  # before the In-short question a verdict answers


def answers_line(question: str) -> str:
    """The line under a verdict naming the library question it answers (text and web)."""
    return f"{ANSWERS} \u201c{question}\u201d"


PART_HEADINGS = {
    "bottom_line": "Bottom line", "steps": "What to do now", "guidance": "What the guidance says",
    "watch_for": "Watch for / escalate when",
}


@dataclass(frozen=True)
class AnswerParts:
    """A composed answer's parts, in the order a reader needs them; each line ends in markers.

    `kind` is the question's type (assistant.question); `direction` the bottom line's verdict
    (yes, no, depends) when it gives one. Surfaces render `render_text()`, or the parts.
    """

    kind: str = ""
    direction: str | None = None
    bottom_line: tuple[str, ...] = ()
    figure_check: str | None = None  # the user's figure against the bottom line's threshold
    answers_question: str | None = None  # the In-short question a verdict answers, if not the user's
    steps: tuple[str, ...] = ()
    steps_from: str | None = None
    guidance: tuple[str, ...] = ()
    watch_for: tuple[str, ...] = ()
    case: str | None = None
    case_lines: tuple[str, ...] = ()
    checklist_title: str | None = None
    checklist: tuple[str, ...] = ()
    checklist_doc: str | None = None
    legal_note: bool = False

    def render_text(self) -> str:
        """The answer as text: bold part headings, then bullets or numbered lines."""
        out: list[str] = []

        def block(heading: str, lines: tuple[str, ...], numbered: bool = False) -> None:
            if lines:
                out.append(f"**{heading}**")
                out.extend(f"{i}. {ln}" if numbered else f"- {ln}" for i, ln in enumerate(lines, 1))
                out.append("")

        if self.bottom_line:
            out += [f"**{PART_HEADINGS['bottom_line']}**", "", *self.bottom_line, ""]
            if self.answers_question:
                out += [f"*{answers_line(self.answers_question)}*", ""]
            if self.figure_check:
                out += [f"*{self.figure_check}*", ""]
        block(PART_HEADINGS["steps"] + (f" (from {self.steps_from})" if self.steps_from else ""),
              self.steps, numbered=True)
        block(PART_HEADINGS["guidance"], self.guidance)
        block(PART_HEADINGS["watch_for"], self.watch_for)
        if self.case and self.case_lines:
            block(f"Related case: {self.case}", self.case_lines)
        if self.checklist:
            block(f"Questions to work through (from {self.checklist_title})", self.checklist,
                  numbered=True)
        if self.legal_note:
            out.append(LEGAL_NOTE)
        return "\n".join(out).strip()

    def to_dict(self) -> dict:
        return {
            "kind": self.kind, "direction": self.direction,
            "bottom_line": list(self.bottom_line), "answers_question": self.answers_question,
            "figure_check": self.figure_check,
            "steps": list(self.steps),
            "steps_from": self.steps_from, "guidance": list(self.guidance),
            "watch_for": list(self.watch_for),
            "related_case": ({"title": self.case, "lines": list(self.case_lines)}
                             if self.case and self.case_lines else None),
            "checklist": ({"from": self.checklist_title, "questions": list(self.checklist)}
                          if self.checklist else None),
            "legal_note": self.legal_note,
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
    nearest: tuple[str, ...] = ()  # "title (location)" of the closest documents, if declined
    parts: AnswerParts | None = None  # the composed parts (extractive answers)
    fallback: str | None = None  # why LLM mode fell back to this extractive answer (a reason code)
    llm: dict = field(default_factory=dict)  # LLM mode: finish reason and token counts

    @property
    def warnings(self) -> tuple[str, ...]:
        """What a reader must see before the answer: the weak-match warning, then the notice."""
        return tuple(w for w in (WEAK_MATCH if self.weak_match else None, self.notice) if w)

    def plain_text(self) -> str:
        """The whole answer as one text: warnings, the answer, then any unsupported sentences."""
        parts = [*self.warnings, self.text]
        if self.unsupported:
            parts.append("\n".join([UNSUPPORTED, *(f"- {s}" for s in self.unsupported)]))
        return "\n\n".join(parts)

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "text": self.plain_text(),
            "answer": self.text,
            "warnings": list(self.warnings),
            "declined": self.declined,
            "weak_match": self.weak_match,
            "mode": self.mode,
            "fallback": ({"reason": self.fallback, "notice": self.notice}
                         if self.fallback else None),
            "llm": dict(self.llm),
            "notice": self.notice,
            "nearest": list(self.nearest),
            "citations": [c.to_dict() for c in self.citations],
            "unsupported": list(self.unsupported),
            "parts": self.parts.to_dict() if self.parts else None,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }
