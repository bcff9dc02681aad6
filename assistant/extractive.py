"""The default answer, without an LLM: the library's own words, arranged as advice.

The answer has parts (`AnswerParts`): a bottom line, what to do now, what the guidance says,
what to watch for, one related case and a checklist. Each part is taken from the section of the
answering document that the corpus convention names for it (corpus/README.md): the bottom line
is the `In short` answer whose question is nearest the user's; the steps are the document's
`What to do` list, whole and in order; and so on. A document without those sections (a
company's PDF) still gives its best sentences. Facts of a case study appear only under that
case's name. Apart from the part headings and the legal reminder, every line is copied
verbatim from the passage its marker cites. Deterministic: the same library and question give
the same answer. Sentence vectors come from ingest (`SentenceIndex`): only the question is
embedded at question time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.answer import AnswerParts, Citation, Passage
from assistant.library.bm25 import tokenize
from assistant.library.injection import is_instruction
from assistant.library.sections import (
    ACTION,
    BOTTOM_LINE,
    CHECKLIST,
    NARRATIVE,
    STEPS,
    WATCH,
    SectionMap,
    list_items,
    section_key,
)
from assistant.library.sentence_vectors import SentenceIndex
from assistant.library.sentences import sentence_spans
from assistant.question import HOW_TO, LIST, WHAT_IS, YES_NO, wants_action

LEGAL_CUES = re.compile(
    r"\b(law|laws|legal|lawful|illegal|licen[cs]e|licensing|export control|dual[- ]use|regulation|"
    r"article 5|court|warrant|sanction|comply|compliance|statut|jurisdiction|wassenaar|2021/821|"
    r"directive|act\b)", re.I)
# A sentence that leans on the one before it cannot be quoted alone.
BACK_REFERENCE = re.compile(
    r"^(it|this|that|these|those|they|them|such|both|its|their|he|she|here|there|then|also|"
    r"however|but|and|so|thus|therefore|the same|the above|the latter|the former|in this|"
    r"for this|as a result|in that case|otherwise)\b|\b(the above|this section|see section|"
    r"as above|below)\b", re.I)
VERDICT = re.compile(r"^(?P<no>no\b|not\b)|^(?P<yes>yes\b)|^(?P<depends>it depends\b|only if\b|"
                     r"that depends\b|depends\b)", re.I)
# "The note gave ...": a case sentence about something introduced earlier in the story.
RELATIVE_START = re.compile(r"^(the|a|an|ten|two|three|later|next|after|once|when)\b", re.I)
LIST_MARK = re.compile(r"^(?:[-*•]|\d{1,2}[.)])\s+")
VERDICT_FIT = 0.05  # how much an answer of the right shape (verdict or not) is preferred
MIN_BOTTOM_LINE = 0.35  # an In-short question less similar than this does not answer
SUPPORT_POINTS = {LIST: 6, WHAT_IS: 6}  # a question of fact needs more of the text; others: 3
WATCH_EACH = 3  # red flags, and escalation triggers, shown


@dataclass(frozen=True)
class Sentence:
    passage: Passage
    start: int  # offsets within the passage text
    end: int
    vector: np.ndarray

    @property
    def text(self) -> str:
        return self.passage.text[self.start:self.end]


def touches_law(question: str) -> bool:
    return bool(LEGAL_CUES.search(question))


def direction_of(text: str) -> str | None:
    """yes / no / depends, from the opening words of a bottom line; None if it gives no verdict."""
    m = VERDICT.match(text.strip())
    return m.lastgroup if m else None


def stands_alone(text: str) -> bool:
    s = text.strip()
    starts_well = s[:1].isupper() or s[:1] in "\"“'"
    ends_well = s[-1:] in ".!\"”)"
    return (6 <= len(s.split()) <= 70 and starts_well and ends_well and "|" not in s
            and not BACK_REFERENCE.search(s) and not is_instruction(s))


class Composer:
    """Builds the structured answer from a retrieval, the library's sections and vectors."""

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

    def compose(self, question: str, kind: str, qvec, passages: list[Passage],
                checklist: tuple[Passage, list[tuple[int, int]]] | None
                ) -> tuple[AnswerParts, list[Citation]]:
        q = np.asarray(qvec, dtype=np.float32)
        cites: list[Citation] = []

        def cite(p: Passage, a: int, b: int) -> int:
            cites.append(Citation(n=len(cites) + 1, doc_id=p.doc_id, title=p.title,
                                  quote=p.text[a:b], page=p.page, section=p.section,
                                  start=p.start + a, end=p.start + b, passage=p.text))
            return len(cites)

        docs = list(dict.fromkeys(p.doc_id for p in passages))
        kinds = {p.doc_id: p.kind for p in passages}
        bottom, home = self._bottom_line(question, kind, q, docs[:3], passages)
        home = home or (passages[0].doc_id if passages else None)
        parts: dict = {"kind": kind, "direction": None}
        # "What do we do?" is answered by the first thing to do, not by a verdict.
        first_step = bool(bottom and kind == HOW_TO and direction_of(bottom[0].text[bottom[1]:])
                          and self.sections.with_role(home, STEPS))
        if bottom and not first_step:
            p, a, b = bottom
            parts["bottom_line"] = (f"{p.text[a:b]} [{cite(p, a, b)}]",)
            parts["direction"] = direction_of(p.text[a:b])
        case = home if kinds.get(home) == "case-study" else next(
            (d for d in docs if kinds.get(d) == "case-study"), None)
        action = wants_action(kind)
        if action and home:
            parts["steps"], parts["steps_from"] = self._list_part(home, STEPS, cite)
        elif kind == LIST and passages:
            parts["steps"], parts["steps_from"] = self._whole_list(passages[0], cite)
        if first_step and parts.get("steps"):
            parts["bottom_line"] = parts["steps"][:1]
        parts["guidance"] = self._support(question, q, kind, passages, cite)
        if action and home:
            parts["watch_for"] = self._watch_for(q, home, cite)
        if case:
            parts["case"] = next((p.title for p in passages if p.doc_id == case), None) or \
                self._title(case)
            parts["case_lines"] = self._case_lines(q, case, cite)
        if checklist and action:
            p, items = checklist
            n = cite(p, items[0][0], items[-1][1])
            where = f", {p.location}" if p.section else ""
            parts["checklist_title"] = f"{p.title}{where}"
            parts["checklist_doc"] = p.doc_id
            parts["checklist"] = tuple(f"{p.text[a:b]} [{n}]" for a, b in items)
        parts["legal_note"] = touches_law(question)
        return AnswerParts(**parts), cites

    # ----- the parts
    def _bottom_line(self, question: str, kind: str, q: np.ndarray, docs: list[str],
                     passages: list[Passage]) -> tuple[tuple[Passage, int, int] | None, str | None]:
        """The In-short answer whose question is nearest the user's, and its document."""
        best, best_score = None, MIN_BOTTOM_LINE
        q_terms = set(tokenize(question))
        for rank, doc_id in enumerate(docs):
            for section in self.sections.with_role(doc_id, BOTTOM_LINE):
                for p in self.sections.passages(section):
                    sentences = self.sentences(p)
                    for a, b in list_items(p.text):
                        asked = [s for s in sentences if a <= s.start < b]
                        if len(asked) < 2 or not asked[0].text.endswith("?"):
                            continue
                        item = set(tokenize(p.text[a:b]))  # its question and its answer
                        overlap = len(q_terms & item) / max(len(q_terms), 1)
                        # A verdict answers a yes/no question; a how-to wants the first step.
                        fits = (kind == YES_NO) == (direction_of(asked[1].text) is not None)
                        score = (float(asked[0].vector @ q) + 0.15 * overlap + 0.05 / (1 + rank)
                                 + (VERDICT_FIT if fits else -VERDICT_FIT))
                        if score > best_score:
                            best_score, best = score, (p, asked[1].start, b)
        if best is None:  # no In-short section answers: the best sentence of the best passage
            for p in passages[:1]:
                ranked = sorted(self.sentences(p), key=lambda s: -float(s.vector @ q))
                for s in ranked:
                    if stands_alone(s.text) and self._role(p) not in (NARRATIVE, CHECKLIST):
                        return (p, s.start, s.end), p.doc_id
            return None, None
        return best, best[0].doc_id

    def _list_part(self, doc_id: str, role: str, cite) -> tuple[tuple[str, ...], str | None]:
        """A document's list section (What to do) whole, one citation per list."""
        lines: list[str] = []
        where = None
        for section in self.sections.with_role(doc_id, role):
            for p in self.sections.passages(section):
                items = list_items(p.text)
                if not items:
                    continue
                n = cite(p, items[0][0], items[-1][1])
                lines += [f"{p.text[a:b]} [{n}]" for a, b in items]
                where = where or f"{p.title}, {p.location}"
        return tuple(lines), where

    def _watch_for(self, q: np.ndarray, doc_id: str, cite) -> tuple[str, ...]:
        """The red flags and escalation triggers nearest the question (a few of each list, in
        the library's order), one citation per list."""
        lines: list[str] = []
        for section in self.sections.with_role(doc_id, WATCH):
            for p in self.sections.passages(section):
                items = list_items(p.text)
                if not items:
                    continue
                starts = {s.start: s.vector for s in self.sentences(p)}
                score = [float(starts[a] @ q) if a in starts else -1.0 for a, _ in items]
                keep = sorted(np.argsort(-np.array(score))[:WATCH_EACH])
                n = cite(p, items[0][0], items[-1][1])
                lines += [f"{p.text[items[i][0]:items[i][1]]} [{n}]" for i in keep]
        return tuple(lines)

    def _whole_list(self, p: Passage, cite) -> tuple[tuple[str, ...], str | None]:
        """A list question's answer kept whole: the list in the best section, or the opening
        sentence of each of its sub-sections ("the eight criteria stay eight")."""
        section = self.sections.of({"doc_id": p.doc_id, "heading_path": p.context,
                                    "section": p.section})
        if section is None:
            return (), None
        units = self.sections.passages(section)
        for u in units:
            items = [(a, b) for a, b in list_items(u.text) if stands_alone(u.text[a:b])
                     or len(u.text[a:b].split()) >= 3]
            if len(items) >= 3:
                n = cite(u, items[0][0], items[-1][1])
                return tuple(f"{u.text[a:b]} [{n}]" for a, b in items), f"{u.title}, {u.location}"
        if len(units) >= 3:
            lines = []
            for u in units:
                first = next((s for s in self.sentences(u) if stands_alone(s.text)), None)
                if first:
                    lines.append(f"{first.text} [{cite(u, first.start, first.end)}]")
            return tuple(lines), f"{units[0].title}, section {section.heading}"
        return (), None

    def _support(self, question: str, q: np.ndarray, kind: str, passages: list[Passage],
                 cite) -> tuple[str, ...]:
        """The best standalone sentences of the retrieved passages other than case studies
        (a case's facts appear only in the case part, under its name)."""
        q_terms = set(tokenize(question))
        scored = []
        for rank, p in enumerate(passages):
            role = self._role(p)
            if role in (BOTTOM_LINE, STEPS, WATCH, CHECKLIST, NARRATIVE):
                continue
            if p.kind == "case-study":
                continue  # a case's facts appear only under its name, in the case part
            for s in self.sentences(p):
                if not stands_alone(s.text):
                    continue
                overlap = len(q_terms & set(tokenize(s.text))) / max(len(q_terms), 1)
                authority = 0.06 if p.kind in ("guidance", "checklist") else 0.0
                scored.append((float(s.vector @ q) + 0.12 / (1 + rank) + 0.15 * overlap
                               + authority, s))
        scored.sort(key=lambda x: -x[0])
        chosen: list[Sentence] = []
        per_doc: dict[str, int] = {}
        for _, s in scored:
            if per_doc.get(s.passage.doc_id, 0) >= (3 if kind in SUPPORT_POINTS else 2):
                continue
            if any(float(s.vector @ c.vector) > 0.9 for c in chosen):
                continue  # the overlap between chunks repeats sentences
            chosen.append(s)
            per_doc[s.passage.doc_id] = per_doc.get(s.passage.doc_id, 0) + 1
            if len(chosen) == SUPPORT_POINTS.get(kind, 3):
                break
        chosen.sort(key=lambda s: (passages.index(s.passage), s.start))
        return tuple(f"{s.text} [{cite(s.passage, s.start, s.end)}]" for s in chosen)

    def _case_lines(self, q: np.ndarray, case: str, cite) -> tuple[str, ...]:
        """What the related case did and learnt: its best sentence from 'What was done and why'
        that names who acted, and its best from 'Lessons'."""
        lines = []
        for section in self.sections.with_role(case, ACTION):
            best = None
            for p in self.sections.passages(section):
                for s in self.sentences(p):
                    if not stands_alone(s.text) or RELATIVE_START.match(s.text):
                        continue
                    if best is None or s.vector @ q > best.vector @ q:
                        best = s
            if best:
                lines.append(f"{best.text} [{cite(best.passage, best.start, best.end)}]")
        return tuple(lines[:2])

    def _role(self, p: Passage) -> str | None:
        s = self.sections.sections.get(section_key({"doc_id": p.doc_id, "heading_path": p.context,
                                                    "section": p.section}))
        return s.role if s else None

    def _title(self, doc_id: str) -> str:
        for s in self.sections.by_doc.get(doc_id, ()):
            return self.sections.chunks[s.chunks[0]].metadata.get("title", doc_id)
        return doc_id
