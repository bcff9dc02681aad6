"""The default answer, without an LLM: the most relevant sentences of the retrieved passages.

Apart from fixed connecting text (the lead line, document headings, the checklist heading and
the legal reminder), every sentence is copied verbatim from the passage its marker cites.
Deterministic: the same library and question give the same answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.answer import Citation, Passage
from assistant.library.bm25 import tokenize
from assistant.library.embedder import MiniLMEmbeddings
from assistant.library.retriever import CHECKLIST_HEADING
from assistant.library.sentences import sentence_spans

LEAD = "Here is what the library's guidance says, with sources:"
LEGAL_NOTE = ("_This is guidance from the library, not legal advice: check export-licensing and "
              "legal questions with your legal or export-control team._")
LEGAL_CUES = re.compile(
    r"\b(law|laws|legal|lawful|illegal|licen[cs]e|licensing|export control|dual[- ]use|regulation|"
    r"article 5|court|warrant|sanction|comply|compliance|statut|jurisdiction|wassenaar|2021/821)",
    re.I)
MAX_POINTS = 6
PER_DOC = 3
PER_PASSAGE = 2
LIST_MARK = re.compile(r"^(?:[-*•]|\d{1,2}[.)])\s+")


@dataclass(frozen=True)
class Candidate:
    passage_rank: int
    passage: Passage
    start: int  # offsets within the passage text
    end: int

    @property
    def text(self) -> str:
        return self.passage.text[self.start:self.end]


class SentenceVectors:
    """Embeddings of candidate sentences, cached: related questions bring back the same passages."""

    def __init__(self, embedder: MiniLMEmbeddings, size: int = 50_000):
        self.embedder = embedder
        self.size = size
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for t, v in zip(missing, self.embedder.encode(missing), strict=True):
                self._cache[t] = v
            while len(self._cache) > self.size:  # drop the oldest entries
                self._cache.pop(next(iter(self._cache)))
        return np.stack([self._cache[t] for t in texts])


def touches_law(question: str) -> bool:
    return bool(LEGAL_CUES.search(question))


def candidates(passages: list[Passage]) -> list[Candidate]:
    """Sentences that can stand alone as a point: whole, declarative, of a readable length."""
    out = []
    for rank, p in enumerate(passages):
        for a, b in sentence_spans(p.text):
            m = LIST_MARK.match(p.text[a:b])
            if m:
                a += m.end()
            s = p.text[a:b]
            starts_well = s[:1].isupper() or s[:1] in "\"“'"
            ends_well = s[-1:] in ".!\"”)"  # a statement, not a question or a heading
            if 6 <= len(s.split()) <= 70 and starts_well and ends_well and "|" not in s:
                out.append(Candidate(rank, p, a, b))
    return out


def select(question_vec: np.ndarray, question: str, cands: list[Candidate],
           sent_vecs: np.ndarray) -> list[Candidate]:
    """The best sentences, a few per document, no repeats."""
    if not cands:
        return []
    q_terms = set(tokenize(question))
    scores = []
    for i, c in enumerate(cands):
        overlap = len(q_terms & set(tokenize(c.text))) / max(len(q_terms), 1)
        authority = 0.06 if c.passage.kind in ("guidance", "checklist") else 0.0
        scores.append(float(sent_vecs[i] @ question_vec) + 0.12 / (1 + c.passage_rank)
                      + 0.15 * overlap + authority)
    order = sorted(range(len(cands)), key=lambda i: (-scores[i], i))
    chosen: list[int] = []
    per_doc: dict[str, int] = {}
    per_passage: dict[str, int] = {}
    for i in order:
        c = cands[i]
        if per_doc.get(c.passage.doc_id, 0) >= PER_DOC:
            continue
        if per_passage.get(c.passage.chunk_id, 0) >= PER_PASSAGE:
            continue
        if any(float(sent_vecs[i] @ sent_vecs[j]) > 0.9 for j in chosen):
            continue  # the overlap between chunks repeats sentences
        chosen.append(i)
        per_doc[c.passage.doc_id] = per_doc.get(c.passage.doc_id, 0) + 1
        per_passage[c.passage.chunk_id] = per_passage.get(c.passage.chunk_id, 0) + 1
        if len(chosen) == MAX_POINTS:
            break
    return [cands[i] for i in chosen]


def citation(n: int, quote: str, p: Passage, start: int, end: int, passage_text: str) -> Citation:
    return Citation(n=n, doc_id=p.doc_id, title=p.title, quote=quote, page=p.page,
                    section=p.section, start=p.start + start, end=p.start + end,
                    passage=passage_text)


def compose(question: str, passages: list[Passage], vectors: SentenceVectors,
            checklist: tuple[Passage, list[tuple[int, int]]] | None) -> tuple[str, list[Citation]]:
    """Answer text and its citations from the retrieved passages (and a fitting checklist)."""
    cands = candidates(passages)
    if cands:
        vecs = vectors.encode([question] + [c.text for c in cands])
        chosen = select(vecs[0], question, cands, vecs[1:])
    else:
        chosen = []
    # Group by document, documents in order of their best point, points in reading order.
    doc_order: list[str] = []
    for c in chosen:
        if c.passage.doc_id not in doc_order:
            doc_order.append(c.passage.doc_id)
    lines = [LEAD, ""]
    cites: list[Citation] = []
    for doc_id in doc_order:
        points = sorted((c for c in chosen if c.passage.doc_id == doc_id),
                        key=lambda c: (c.passage.start + c.start))
        lines.append(f"**{points[0].passage.title}**")
        for c in points:
            cites.append(citation(len(cites) + 1, c.text, c.passage, c.start, c.end, c.passage.text))
            lines.append(f"- {c.text} [{len(cites)}]")
        lines.append("")
    if checklist:
        p, items = checklist
        n = len(cites) + 1
        first, last = items[0][0], items[-1][1]
        cites.append(citation(n, p.text[first:last], p, first, last, p.text))
        where = f", {p.location}" if p.section else ""
        lines.append(f"**{CHECKLIST_HEADING}** (from {p.title}{where}) [{n}]")
        lines.extend(f"{i}. {p.text[a:b]} [{n}]" for i, (a, b) in enumerate(items, 1))
        lines.append("")
    if touches_law(question):
        lines.append(LEGAL_NOTE)
    return "\n".join(lines).strip(), cites
