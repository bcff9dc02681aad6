"""A document's sections as the answer sees them: their role, their text put back together.

The corpus convention (corpus/README.md, "The parts the answer is built from") names the
sections an answer is built from: `In short` (bottom lines), `What to do` (steps), `Watch for
and escalate when` (red flags and escalation triggers), `Questions to work through` (a
checklist). A case study's `Situation` is its narrative; `What was done and why` and `Lessons`
are its actions. Documents without these names (a company's PDF) simply have no roles.
"""

from __future__ import annotations

import re
from array import array
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from assistant.answer import Passage
from assistant.library.bm25 import KeywordIndex, body_text, read_table, tokenize
from assistant.library.chunk_table import load
from assistant.library.sentence_vectors import ChunkText, chunk_text
from assistant.library.store import LibraryStore, StoredChunk

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
    """Every committed document's top-level sections, from the keyword index's chunk list
    (a list, or a `ChunkTable` whose texts are read when a section is: see `Sections`)."""

    def __init__(self, chunks: Sequence[StoredChunk], built: Sections | None = None):
        self.chunks = chunks
        if built is None:
            built = Sections()
            for i, ch in enumerate(chunks):
                built.add(i, ch)
        self.sections: dict[tuple[str, str], Section] = {}
        self.by_doc: dict[str, list[Section]] = defaultdict(list)
        for (doc_id, heading), idx in built.groups.items():
            idx.sort(key=lambda i: built.ordinals[i])
            s = Section(doc_id, heading, role_of(heading), tuple(idx))
            self.sections[(doc_id, heading)] = s
            self.by_doc[doc_id].append(s)
        self.doc_words: dict[str, TermSet] = built.doc_words()

    def of(self, meta: dict) -> Section | None:
        return self.sections.get(section_key(meta))

    def coverage(self, query: str, passages: list[Passage], idf_of, top: int = 3) -> float:
        """The largest share of the question's term weight (IDF) that one of the best
        documents holds, its section questions included. A term the library lacks weighs most,
        so "transfer pricing" is poorly covered by a document on data transfers."""
        terms = sorted(set(tokenize(query)))  # a fixed order for the sums, run to run
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
        head = number.split(".")[0]
        top = next((s for s in self.by_doc.get(doc_id, ())
                    if (m := NUMBER.match(s.heading)) and m.group(1) == head), None)
        if top is None or "." not in number:
            return list(top.chunks) if top else []
        read = load(self.chunks, top.chunks)  # one store read for a ChunkTable
        return [i for i, ch in zip(top.chunks, read, strict=True)
                if (str(ch.metadata.get("section", "")) + " ").startswith(number + " ")]

    def with_role(self, doc_id: str, role: str) -> list[Section]:
        return [s for s in self.by_doc.get(doc_id, ()) if s.role == role]

    def passages(self, section: Section) -> list[Passage]:
        """The section's units (itself or its sub-sections), each put back together whole."""
        by_unit: dict[str, list[StoredChunk]] = defaultdict(list)
        for ch in load(self.chunks, section.chunks):  # one store read for a ChunkTable
            by_unit[str(ch.metadata.get("section", ""))].append(ch)
        return [_joined(parts) for parts in by_unit.values()]


class Sections:
    """What the section map needs of each chunk, gathered in one pass (`add(i, chunk)`), so
    that the chunks' texts need not be held: each section's chunk indices and ordinals, and
    each document's analysed terms (text, headings, section questions), for `coverage`, kept
    per document, not per section (a set per section cost kilobytes per chunk), and as a
    `TermSet` once the pass has moved on to another document (a set of strings cost some
    250 KB for a 500-chunk document)."""

    def __init__(self):
        self.groups: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.ordinals = array("q")  # chunk i's ordinal in its document, for i in order
        self._sets: dict[str, TermSet] = {}
        self._doc, self._words = None, set()  # the document being read, and its terms

    def add(self, i: int, ch: StoredChunk, terms: list[str] | None = None) -> None:
        """Chunk `i` (in order); `terms`: those of `bm25.body_text(ch)`, if already known."""
        key = section_key(ch.metadata)
        self.groups[key].append(i)
        if i != len(self.ordinals):
            raise ValueError(f"chunks are added in order: {i} after {len(self.ordinals) - 1}")
        self.ordinals.append(int(ch.metadata.get("ordinal", 0)))
        if key[0] != self._doc:
            self._settle()
            self._doc = key[0]
        self._words.update(tokenize(body_text(ch)) if terms is None else terms)

    def _settle(self) -> None:
        if self._doc is not None:
            before = self._sets.get(self._doc)
            self._sets[self._doc] = TermSet(self._words, before)
        self._words = set()

    def doc_words(self) -> dict[str, TermSet]:
        self._settle()
        self._doc = None
        return dict(self._sets)


class TermSet:
    """A set of terms as a sorted array of their hashes (8 bytes a term; the hashes are this
    process's, the set is never stored): `term in terms`."""

    def __init__(self, terms: set[str], more: TermSet | None = None):
        h = np.fromiter((hash(t) for t in terms), dtype=np.int64, count=len(terms))
        self._h = np.unique(np.concatenate([h, more._h]) if more is not None else h)

    def __contains__(self, term: str) -> bool:
        i = int(np.searchsorted(self._h, hash(term)))
        return i < len(self._h) and self._h[i] == hash(term)

    def __len__(self) -> int:
        return len(self._h)


def read_library(store: LibraryStore, cache_dir, version: str
                 ) -> tuple[KeywordIndex, SectionMap, dict[str, list[tuple[int, ChunkText]]]]:
    """The retriever's view of the library, from one pass over its committed chunks: the
    keyword index over a `ChunkTable` (texts read by id when needed), the section map, and
    the chunks that declare section questions, by document version."""
    sections, asked = Sections(), {}

    def visit(i: int, ch: StoredChunk, terms: list[str]) -> None:
        sections.add(i, ch, terms)
        if ch.metadata.get("questions"):
            asked.setdefault(str(ch.metadata.get("doc_hash")), []).append(
                (i, chunk_text(ch.text, ch.metadata)))

    index = read_table(cache_dir, version, store.committed_chunks, store.chunks_by_id, visit)
    return index, SectionMap(index.chunks, sections), asked


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
