"""A document's sections as the answer sees them: their role, their text put back together.

The corpus convention (corpus/README.md, "The parts the answer is built from") names the
sections an answer is built from: `In short` (bottom lines), `What to do` (steps), `Watch for
and escalate when` (red flags and escalation triggers), `Questions to work through` (a
checklist). A case study's `Situation` is its narrative; `What was done and why` and `Lessons`
are its actions. Documents without these names (a company's PDF) simply have no roles.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, replace

from assistant.answer import Passage
from assistant.library.bm25 import tokenize
from assistant.library.store import StoredChunk

BOTTOM_LINE, STEPS, WATCH, CHECKLIST = "in-short", "what-to-do", "watch-for", "checklist"
NARRATIVE, ACTION, BODY = "narrative", "action", "body"
ROLES = {
    "in short": BOTTOM_LINE, "what to do": STEPS, "watch for and escalate when": WATCH,
    "red flags": WATCH, "escalate when": WATCH, "questions to work through": CHECKLIST,
    "situation": NARRATIVE, "what was done and why": ACTION, "lessons": ACTION,
}
CHECKLIST_HEADING = "Questions to work through"
NUMBER = re.compile(r"^(\d{1,2})(?:\.(\d{1,2}))?\.?\s+(.*)$")
ITEM = re.compile(r"^[ \t]*(?:\d{1,2}[.)]|[-*•])[ \t]+(.+?)[ \t]*$", re.M)


def top_heading(chunk_meta: dict) -> str:
    """The top-level heading a chunk sits under ("6. What was done and why")."""
    path = str(chunk_meta.get("heading_path") or chunk_meta.get("section") or "")
    return path.split(" > ")[0]


def role_of(heading: str) -> str:
    m = NUMBER.match(heading.strip())
    name = (m.group(3) if m else heading).strip().lower()
    return ROLES.get(name, BODY)


def section_key(meta: dict) -> tuple[str, str]:
    """(document, top-level section): the unit the answer takes whole."""
    return str(meta.get("doc_id", "")), top_heading(meta)


def list_items(text: str) -> list[tuple[int, int]]:
    """Offsets of the items of the bulleted or numbered lists in a text (markers excluded)."""
    return [(m.start(1), m.end(1)) for m in ITEM.finditer(text)]


def checklist_items(text: str) -> list[tuple[int, int]]:
    """Offsets of the questions in a 'Questions to work through' list (marker excluded)."""
    return [(a, b) for a, b in list_items(text) if text[a:b].rstrip().endswith("?")]


@dataclass(frozen=True)
class Section:
    doc_id: str
    heading: str  # top-level heading, numbered
    role: str
    chunks: tuple[int, ...]  # indices into the keyword index's chunk list, in reading order


class SectionMap:
    """Every committed document's top-level sections, from the keyword index's chunk list."""

    def __init__(self, chunks: list[StoredChunk]):
        self.chunks = chunks
        groups: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, ch in enumerate(chunks):
            groups[section_key(ch.metadata)].append(i)
        self.sections: dict[tuple[str, str], Section] = {}
        self.by_doc: dict[str, list[Section]] = defaultdict(list)
        # Each document's analysed terms (text, headings, section questions), for `coverage`:
        # kept per document, not per section (a set per section cost kilobytes per chunk).
        words: dict[str, set[str]] = defaultdict(set)
        for (doc_id, heading), idx in groups.items():
            idx.sort(key=lambda i: (chunks[i].metadata.get("ordinal", 0)))
            for i in idx:
                words[doc_id].update(tokenize(f"{chunks[i].metadata.get('heading_path', '')} "
                                              f"{chunks[i].metadata.get('questions', '')} "
                                              f"{chunks[i].text}"))
            s = Section(doc_id, heading, role_of(heading), tuple(idx))
            self.sections[(doc_id, heading)] = s
            self.by_doc[doc_id].append(s)
        self.doc_words: dict[str, frozenset[str]] = {d: frozenset(w) for d, w in words.items()}

    def of(self, meta: dict) -> Section | None:
        return self.sections.get(section_key(meta))

    def coverage(self, query: str, passages: list[Passage], idf_of, top: int = 3) -> float:
        """The largest share of the question's term weight (IDF) that one of the best
        documents holds, its section questions included. A term the library lacks weighs most,
        so "transfer pricing" is poorly covered by a document on data transfers."""
        terms = set(tokenize(query))
        if not terms:
            return 0.0
        weight = {t: idf_of(t) for t in terms}
        total = sum(weight.values())
        docs = list(dict.fromkeys(p.doc_id for p in passages))[:top]
        return max((sum(w for t, w in weight.items() if t in self.doc_words.get(d, ()))
                    / total for d in docs), default=0.0)

    def unit(self, doc_id: str, number: str) -> list[int]:
        """The chunks (indices, in reading order) of a document's section or sub-section by
        its number ("4" holds 4.1 and 4.2)."""
        top = next((s for s in self.by_doc.get(doc_id, ())
                    if NUMBER.match(s.heading) and NUMBER.match(s.heading).group(1)
                    == number.split(".")[0]), None)
        if top is None or "." not in number:
            return list(top.chunks) if top else []
        return [i for i in top.chunks
                if (str(self.chunks[i].metadata.get("section", "")) + " ").startswith(number + " ")]

    def with_role(self, doc_id: str, role: str) -> list[Section]:
        return [s for s in self.by_doc.get(doc_id, ()) if s.role == role]

    def passages(self, section: Section) -> list[Passage]:
        """The section's units (itself or its sub-sections), each put back together whole."""
        by_unit: dict[str, list[StoredChunk]] = defaultdict(list)
        for i in section.chunks:
            ch = self.chunks[i]
            by_unit[str(ch.metadata.get("section", ""))].append(ch)
        return [_joined(parts) for parts in by_unit.values()]


def to_passage(ch: StoredChunk, score: float, dense: float | None, kw: float | None) -> Passage:
    m = ch.metadata
    return Passage(
        chunk_id=ch.chunk_id, doc_id=m.get("doc_id", ""), title=m.get("title", ""),
        kind=m.get("kind", ""), text=ch.text, page=m.get("page"), section=m.get("section"),
        start=int(m.get("start", 0)), end=int(m.get("end", 0)), score=score, dense_score=dense,
        keyword_score=kw, source=m.get("source", ""), context=m.get("heading_path", ""),
        doc_hash=str(m.get("doc_hash", "")),
    )


def _joined(parts: list[StoredChunk]) -> Passage:
    """One unit's chunks as one passage, the overlap between them removed."""
    parts = sorted(parts, key=lambda c: c.metadata.get("start", 0))
    text, end = parts[0].text, parts[0].metadata["end"]
    for c in parts[1:]:
        start = c.metadata["start"]
        text += c.text[end - start:] if start < end else "\n\n" + c.text
        end = max(end, c.metadata["end"])
    first = to_passage(parts[0], 1.0, None, None)
    return replace(first, text=text, end=first.start + len(text))
