"""A retrieved passage read the way the answer needs it: its sentences (with the vectors
computed at ingest), the whole (sub-)section it belongs to, the role of that section, and the
lists a section holds. The composer (assistant.extractive) builds the answer's parts on this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.answer import Passage
from assistant.library.bm25 import tokenize
from assistant.library.injection import is_instruction
from assistant.library.sections import (
    BOTTOM_LINE,
    CHECKLIST,
    NARRATIVE,
    WATCH,
    SectionMap,
    list_items,
    section_key,
)
from assistant.library.sentence_vectors import SentenceIndex
from assistant.library.sentences import sentence_spans
from assistant.question import asks_for_facts

# A sentence that leans on the one before it, or on a list below it ("the options below"),
# cannot be quoted alone; one "below the threshold" can. Nor can one that only sends the reader
# elsewhere ("See Annex A for ...", "Refer to the guidelines"): it names where the answer is.
BACK_REFERENCE = re.compile(
    r"^(it|this|that|these|those|they|them|such|both|its|their|he|she|here|there|then|also|"
    r"however|but|and|so|thus|therefore|the same|the above|the latter|the former|in this|"
    r"for this|as a result|in that case|otherwise|see|please see|refer to|for (more|further) "
    r"(information|details|guidance))\b|\b(the above|this section|see section|"
    r"as above|see (annex|appendix|chapter|part|page))\b|"
    r"\b(see|as|listed|set out|shown|described|given|options|steps|items|points|"
    r"table|list|sections?) below\b|\bbelow\s*[:.;,)]", re.I)
COUNTS = {w: n for n, w in enumerate("two three four five six seven eight nine ten".split(), 2)}
LIST_MARK = re.compile(r"^(?:[-*•]|\d{1,2}[.)])\s+")


@dataclass(frozen=True)
class Sentence:
    passage: Passage
    start: int  # offsets within the passage text
    end: int
    vector: np.ndarray

    @property
    def text(self) -> str:
        return self.passage.text[self.start:self.end]


def stands_alone(text: str) -> bool:
    s = text.strip()
    starts_well = s[:1].isupper() or s[:1] in "\"“'"
    ends_well = s[-1:] in ".!\"”)"
    return (6 <= len(s.split()) <= 70 and starts_well and ends_well and "|" not in s
            and not BACK_REFERENCE.search(s) and not is_instruction(s))


class Reader:
    """The library's sections and sentence vectors, read passage by passage."""

    def __init__(self, sections: SectionMap, vectors: SentenceIndex):
        self.sections = sections
        self.vectors = vectors

    def sentences(self, p: Passage) -> list[Sentence]:
        """The passage's sentences with their vectors (list markers left out of the span)."""
        spans = sentence_spans(p.text)
        vectors = self.vectors.sentence_vectors(p.doc_hash, [p.text[a:b] for a, b in spans])
        out = []
        for (a, b), v in zip(spans, vectors, strict=True):
            if m := LIST_MARK.match(p.text[a:b]):
                a += m.end()
            out.append(Sentence(p, a, b, v))
        return out

    def units(self, passages: list[Passage]) -> list[Passage]:
        """Each retrieved chunk as the whole (sub-)section it belongs to, in rank order, once:
        the sentence that answers may sit in a neighbouring chunk of the same section. A page
        of a PDF stays a unit of its own, so a quote keeps the page it is on."""
        units: dict[tuple, Passage] = {}
        for p in passages:
            key = (p.doc_id, p.context, p.section, p.page)
            if key in units:
                continue
            if p.page is not None:
                units[key] = p
                continue
            section = self.sections.of({"doc_id": p.doc_id, "heading_path": p.context,
                                        "section": p.section})
            whole = [u for u in (self.sections.passages(section) if section else ())
                     if u.section == p.section and u.start <= p.start and p.end <= u.end]
            units[key] = whole[0] if whole else p
        return list(units.values())

    def siblings(self, p: Passage) -> list[Passage]:
        """The other (sub-)sections of the top-level section a unit belongs to ("4.2" beside
        "4.1"), each whole, in order: the second half of a question of fact ("what turnover
        triggers it, and who signs it?") is often answered there. None for a page of a PDF."""
        section = None if p.page is not None else self.sections.of(
            {"doc_id": p.doc_id, "heading_path": p.context, "section": p.section})
        return [u for u in self.sections.passages(section) if u.section != p.section] \
            if section else []

    def role(self, p: Passage) -> str | None:
        s = self.sections.sections.get(section_key({"doc_id": p.doc_id, "heading_path": p.context,
                                                    "section": p.section}))
        return s.role if s else None

    def title(self, doc_id: str) -> str:
        for s in self.sections.by_doc.get(doc_id, ()):
            return self.sections.chunks[s.chunks[0]].metadata.get("title", doc_id)
        return doc_id

    def best_sentence(self, question: str, q: np.ndarray, kind: str,
                       passages: list[Passage]) -> Sentence | None:
        """The standalone sentence of these passages' sections nearest the question (a
        situation's story only for a question of fact about it)."""
        skip = (BOTTOM_LINE, CHECKLIST, WATCH) + (() if asks_for_facts(question, kind)
                                                  else (NARRATIVE,))
        q_terms = set(tokenize(question))
        best, best_score = None, -1.0
        for rank, p in enumerate(self.units(passages)):
            if self.role(p) in skip:
                continue
            for s in self.sentences(p):
                if stands_alone(s.text):
                    overlap = len(q_terms & set(tokenize(s.text))) / max(len(q_terms), 1)
                    score = float(s.vector @ q) + 0.12 / (1 + rank) + 0.15 * overlap
                    if score > best_score:
                        best, best_score = s, score
        return best

    def answering_list(self, question: str, passages: list[Passage],
                        cite) -> tuple[tuple[str, ...], str | None]:
        """A list question's answer kept whole ("the eight criteria stay eight"): a list in the
        best passage's section that holds one (not an In-short or a checklist), or the opening
        sentence of each of its sub-sections; of these, the one as long as the count the
        question names ("the six considerations", "the 4 Ps") if there is one."""
        count = next((COUNTS.get(w) or int(w) for w in re.findall(r"[a-z]+|\d+", question.lower())
                      if w in COUNTS or w.isdigit() and int(w) < 20), None)
        options = [o for p in passages[:5] if self.role(p) not in (BOTTOM_LINE, CHECKLIST)
                   for o in self.lists(p)]
        if not options:
            return (), None
        # A section with that many sub-sections ("3. The four Ps") before a list of that length.
        fits = sorted((o for o in options if len(o[1] or o[0]) == count), key=lambda o: bool(o[1]))
        units, items, where = (fits or options)[0]
        if items:
            n = cite(units[0], items[0][0], items[-1][1])
            return tuple(f"{units[0].text[a:b]} [{n}]" for a, b in items), where
        return tuple(f"{s.text} [{cite(u, s.start, s.end)}]" for u, s in units), where

    def lists(self, p: Passage) -> list[tuple[list, list, str]]:
        """The lists of the section `p` belongs to: each list of 3 or more items in one of its
        units, and its sub-sections' opening sentences when it has 3 or more."""
        section = self.sections.of({"doc_id": p.doc_id, "heading_path": p.context,
                                    "section": p.section})
        if section is None:
            return []
        units = self.sections.passages(section)
        out = []
        for u in units:
            items = [(a, b) for a, b in list_items(u.text) if stands_alone(u.text[a:b])
                     or len(u.text[a:b].split()) >= 3]
            if len(items) >= 3:
                out.append(([u], items, f"{u.title}, {u.location}"))
        firsts = [(u, s) for u in units
                  if (s := next((s for s in self.sentences(u) if stands_alone(s.text)), None))]
        if len(units) >= 3 and firsts:
            out.append((firsts, [], f"{units[0].title}, section {section.heading}"))
        return out
