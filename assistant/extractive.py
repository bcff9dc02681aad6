"""The default answer, without an LLM: the library's own words, arranged as advice.

The answer has parts (`AnswerParts`): a bottom line, what to do now, what the guidance says,
what to watch for, one related case and a checklist. Each part is taken from the section of the
answering document that the corpus convention names for it (corpus/README.md): the bottom line
is the `In short` answer whose question is nearest the user's and asks the same way round
(permission, concern or resistance: assistant.question.asks); the steps are the document's
`What to do` list, whole and in order; and so on. A document without those sections (a
company's PDF) still gives its best sentences. Facts of a case study appear only under that
case's name. Apart from the part headings and the legal reminder, every line is copied
verbatim from the passage its marker cites. Deterministic: the same library and question give
the same answer. Sentence vectors come from ingest (`SentenceIndex`): only the question is
embedded at question time. How a passage is read (its sentences, its whole section, its
role, its lists) is in assistant.reading.
"""

from __future__ import annotations

import re

import numpy as np

from assistant import figures
from assistant.answer import AnswerParts, Citation, Passage
from assistant.library.bm25 import tokenize
from assistant.library.sections import (
    ACTION,
    BOTTOM_LINE,
    CHECKLIST,
    NARRATIVE,
    STEPS,
    WATCH,
    list_items,
    top_heading,
)
from assistant.question import (
    HOW_TO,
    LIST,
    WHAT_IS,
    YES_NO,
    asks,
    asks_for_facts,
    wants_action,
)
from assistant.reading import Reader, Sentence, stands_alone

LEGAL_CUES = re.compile(
    r"\b(law|laws|legal|lawful|illegal|licen[cs]e|licensing|export control|dual[- ]use|regulation|"
    r"article 5|court|warrant|sanction|comply|compliance|statut|jurisdiction|wassenaar|2021/821|"
    r"directive|act\b)", re.I)
VERDICT = re.compile(r"^(?P<no>no\b|not\b)|^(?P<yes>yes\b)|^(?P<depends>it depends\b|only if\b|"
                     r"that depends\b|depends\b)", re.I)
BARE_VERDICT = re.compile(r"^(no|yes)\.\s+", re.I)
NOT_ADVICE = re.compile(r"\bnot legal advice\b", re.I)  # the answer carries its own legal note
# "The note gave ...": a case sentence about something introduced earlier in the story.
RELATIVE_START = re.compile(r"^(the|a|an|ten|two|three|later|next|after|once|when)\b", re.I)
VERDICT_FIT = 0.05  # how much an answer of the right shape (verdict or not) is preferred
MIN_BOTTOM_LINE = 0.35  # an In-short question less similar than this does not answer
SUPPORT_POINTS = {LIST: 6, WHAT_IS: 6}  # a question of fact needs more of the text; others: 4
ANSWERING = {LIST: 5, WHAT_IS: 5}  # of those, from the answering section at most; others: 3
INVERTS = ("yes", "no")  # verdicts that flip when the question asks the other way round
ASK_MISMATCH = 0.2  # an "It depends" written for the other kind of question (question.asks)
FACT_BOTTOM_LINE = 0.6  # a question of fact takes an In-short answer only if it asks the same
WATCH_EACH = 3  # red flags, and escalation triggers, shown
CASE_FACTS = 4  # sentences of a case's own text for a question of fact about it
NOVELTY = 0.15  # weight of the question's words a further supporting sentence adds
SAME_QUESTION = 0.8  # an In-short question this similar is the user's in other words


def touches_law(question: str) -> bool:
    return bool(LEGAL_CUES.search(question))


def direction_of(text: str) -> str | None:
    """yes / no / depends, from the opening words of a bottom line; None if it gives no verdict."""
    m = VERDICT.match(text.strip())
    return m.lastgroup if m else None


class Composer(Reader):
    """Builds the structured answer from a retrieval, the library's sections and vectors."""

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
        bottom, home, asked = self._bottom_line(question, kind, q, docs[:3], passages)
        home = home or (passages[0].doc_id if passages else None)
        parts: dict = {"kind": kind, "direction": None}
        # "What do we do?" is answered by the first thing to do, not by a verdict.
        first_step = bool(bottom and kind == HOW_TO and direction_of(bottom[0].text[bottom[1]:])
                          and self.sections.with_role(home, STEPS))
        if bottom and not first_step:
            p, a, b = bottom
            # A verdict answers the library's question, which may not be the user's: name it
            # (quoted with the answer) unless it is the user's question in other words.
            shown = kind == YES_NO and asked is not None and asked[1] < SAME_QUESTION
            n = cite(p, asked[0], b) if shown else cite(p, a, b)
            parts["bottom_line"] = (f"{p.text[a:b]} [{n}]",)
            if shown:
                parts["answers_question"] = p.text[asked[0]:a].strip()
            parts["direction"] = direction_of(p.text[a:b])
            # "Yes, if at least 1,000 employees" asked with "we have 800": the user's figure decides
            if kind == YES_NO and (fc := figures.check(question, p.text[a:b])):
                parts["figure_check"] = fc.line()
                parts["direction"] = fc.direction
        case = home if kinds.get(home) == "case-study" else next(
            (d for d in docs if kinds.get(d) == "case-study"), None)
        action = wants_action(kind)
        if action and home:
            parts["steps"], parts["steps_from"] = self._list_part(home, STEPS, cite)
        elif kind == LIST and passages:
            parts["steps"], parts["steps_from"] = self.answering_list(question, passages, cite)
        if first_step and parts.get("steps"):
            parts["bottom_line"] = parts["steps"][:1]
        lead = (bottom[0].chunk_id, bottom[1]) if bottom else None
        parts["guidance"] = self._support(question, q, kind, passages, cite, skip=lead)
        if first_step:  # the In-short answer still says what the library holds on the matter,
            p, a, b = bottom  # without a bare "No." that answered a question not shown
            if (m := BARE_VERDICT.match(p.text[a:b])) and stands_alone(p.text[a + m.end():b]):
                a += m.end()
            parts["guidance"] = (f"{p.text[a:b]} [{cite(p, a, b)}]", *parts["guidance"])
        if action and home:
            parts["watch_for"] = self._watch_for(q, home, cite)
        if case:
            parts["case"] = next((p.title for p in passages if p.doc_id == case), None) or \
                self.title(case)
            parts["case_lines"] = (
                self._case_facts(question, q, case, passages, cite, skip=lead)
                if asks_for_facts(question, kind) else self._case_lines(q, case, cite))
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
                     passages: list[Passage]
                     ) -> tuple[tuple[Passage, int, int] | None, str | None, tuple | None]:
        """The In-short answer whose question is nearest the user's, and its document. A yes or
        a no written for another kind of question (`asks`: may we / is it a problem / may we
        resist) is not a candidate, since its verdict would be inverted; an "It depends" for
        one weighs less. The third value is the bullet's question: (its start, its similarity
        to the user's)."""
        best, best_score, best_asked = None, MIN_BOTTOM_LINE, None
        q_terms = set(tokenize(question))
        user_asks = asks(question) if kind == YES_NO else None
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
                        verdict = direction_of(asked[1].text)
                        fits = (kind == YES_NO) == (verdict is not None)
                        # "Is it a problem? Yes." does not answer "fine?": the verdict inverts;
                        # an "It depends" does not, but it answers another question.
                        mismatch = user_asks and asks(asked[0].text) not in (None, user_asks)
                        if mismatch and verdict in INVERTS:
                            continue
                        similar = float(asked[0].vector @ q)
                        if kind in (WHAT_IS, LIST) and similar < FACT_BOTTOM_LINE:
                            continue  # a question of fact: only an In-short one that asks it
                        score = (similar + 0.15 * overlap + 0.05 / (1 + rank)
                                 + (VERDICT_FIT if fits else -VERDICT_FIT))
                        if mismatch and verdict:
                            score -= ASK_MISMATCH
                        if score > best_score:
                            best_score, best = score, (p, asked[1].start, b)
                            best_asked = (asked[0].start, similar)
        if best is None:  # no In-short section answers: the best sentence of the best passages
            found = self.best_sentence(question, q, kind, passages[:3])
            return ((found.passage, found.start, found.end), found.passage.doc_id, None) \
                if found else (None, None, None)
        return best, best[0].doc_id, best_asked

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

    def _support(self, question: str, q: np.ndarray, kind: str, passages: list[Passage],
                 cite, skip: tuple | None = None) -> tuple[str, ...]:
        """The answering section's best standalone sentences, in its order, then the best of
        the other retrieved passages other than case studies (a case's facts appear only in
        the case part, under its name). The answering section is the best-ranked (sub-)section
        with a sentence to quote: its neighbours often hold the rest of the answer (the date,
        then what it added). For a question of fact it is read with its sibling sub-sections
        ("4.2" beside "4.1"), which often hold the part of the question the first did not."""
        q_terms = set(tokenize(question))
        # (unit, rank, its sentences); a case's facts appear only under its name, in its part.
        candidates = [(u, rank, self._quotable(u, skip)) for rank, u in
                      enumerate(self.units(passages)) if u.kind != "case-study"
                      and self.role(u) not in (BOTTOM_LINE, STEPS, WATCH, CHECKLIST, NARRATIVE)]

        def score(u: Passage, rank: int, sentences: list[Sentence]) -> list[tuple]:
            authority = 0.06 if u.kind in ("guidance", "checklist") else 0.0
            return [(float(s.vector @ q) + 0.12 / (1 + rank) + 0.15 * len(
                q_terms & set(tokenize(s.text))) / max(len(q_terms), 1) + authority, s)
                for s in sentences]

        scored = [x for u, rank, sentences in candidates for x in score(u, rank, sentences)]
        if not scored:
            return ()
        lead = next(c for c in candidates if c[2])
        answering = {lead[0].chunk_id}
        order = {u.chunk_id: (rank, 0) for u, rank, _ in candidates}
        order[lead[0].chunk_id] = (-1, lead[0].start)
        if kind in SUPPORT_POINTS:  # the siblings compete with the other passages, in place;
            top = top_heading({"heading_path": lead[0].context, "section": lead[0].section})
            for u in self.siblings(lead[0]):  # the section's opening text, which frames them,
                if u.section == top:  # is read as part of the answering section
                    answering.add(u.chunk_id)
                if u.chunk_id not in order and self.role(u) not in (STEPS, WATCH, CHECKLIST):
                    order[u.chunk_id] = (-1, u.start)
                    scored += score(u, lead[1], self._quotable(u, skip))
        scored.sort(key=lambda x: -x[0])
        chosen: list[Sentence] = []
        per_doc: dict[str, int] = {}

        def repeats(s: Sentence) -> bool:  # the overlap between chunks repeats sentences
            return any(float(s.vector @ c.vector) > 0.9 for c in chosen)

        for _, s in scored:  # the answering section first, up to its share
            if s.passage.chunk_id in answering and len(chosen) < ANSWERING.get(kind, 3) \
                    and not repeats(s):
                chosen.append(s)
        said = set(tokenize(" ".join(c.text for c in chosen)))
        rest = [(x, s, q_terms & set(tokenize(s.text))) for x, s in scored
                if s.passage.chunk_id not in answering]
        while rest and len(chosen) < SUPPORT_POINTS.get(kind, 4):
            # then the other passages, a few sentences from each document, each next one
            # preferred for the question's words the answer has not used yet (its other part)
            i = max(range(len(rest)), key=lambda j: rest[j][0] + NOVELTY * len(
                rest[j][2] - said) / max(len(q_terms), 1))
            _, s, terms = rest.pop(i)
            if per_doc.get(s.passage.doc_id, 0) >= (3 if kind in SUPPORT_POINTS else 2):
                continue
            if repeats(s):
                continue
            chosen.append(s)
            said |= terms
            per_doc[s.passage.doc_id] = per_doc.get(s.passage.doc_id, 0) + 1
        chosen.sort(key=lambda s: (order[s.passage.chunk_id], s.start))
        return tuple(f"{s.text} [{cite(s.passage, s.start, s.end)}]" for s in chosen)

    def _quotable(self, p: Passage, skip: tuple | None) -> list[Sentence]:
        """A unit's sentences that stand alone, but for the one already quoted (`skip`)."""
        return [s for s in self.sentences(p)
                if stands_alone(s.text) and (s.passage.chunk_id, s.start) != skip]

    def _case_facts(self, question: str, q: np.ndarray, case: str, passages: list[Passage],
                    cite, skip: tuple | None = None) -> tuple[str, ...]:
        """For a question of fact about a case: the case's own retrieved sentences nearest the
        question (its story included), in the case's order, under its name; not the one the
        bottom line already quotes (`skip`)."""
        q_terms = set(tokenize(question))
        scored = []
        for p in self.units([p for p in passages if p.doc_id == case]):
            if self.role(p) in (CHECKLIST, BOTTOM_LINE):
                continue
            for s in self._quotable(p, skip):
                overlap = len(q_terms & set(tokenize(s.text))) / max(len(q_terms), 1)
                scored.append((float(s.vector @ q) + 0.15 * overlap, s))
        chosen = [s for _, s in sorted(scored, key=lambda x: -x[0])[:CASE_FACTS]]
        chosen.sort(key=lambda s: (s.passage.start, s.start))
        return tuple(f"{s.text} [{cite(s.passage, s.start, s.end)}]" for s in chosen)

    def _case_lines(self, q: np.ndarray, case: str, cite) -> tuple[str, ...]:
        """What the related case did and learnt: its best sentence from 'What was done and why'
        that names who acted, and its best from 'Lessons'."""
        lines = []
        for section in self.sections.with_role(case, ACTION):
            best = None
            for p in self.sections.passages(section):
                for s in self.sentences(p):
                    if not stands_alone(s.text) or RELATIVE_START.match(s.text) or \
                            NOT_ADVICE.search(s.text):
                        continue
                    if best is None or s.vector @ q > best.vector @ q:
                        best = s
            if best:
                lines.append(f"{best.text} [{cite(best.passage, best.start, best.end)}]")
        return tuple(lines[:2])
