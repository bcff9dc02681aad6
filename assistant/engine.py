"""The Assistant: one entry point, `answer(question, history)`, for the CLI, the UI and evaluations."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cached_property

from assistant.answer import Answer, Citation, Passage
from assistant.extractive import CHECKLIST_HEADING, SentenceVectors, checklist_items, compose
from assistant.retriever import Filters, HybridRetriever, Retrieval, to_passage
from assistant.settings import Settings

DECLINE = ("The library does not cover this question, so I cannot answer it from the guidance. "
           "The nearest documents are listed below; you may want to add guidance on this topic.")
FOLLOW_UP = re.compile(r"^(and|but|what about|how about|what if|and if|if so|then|also|same)\b"
                       r"|\b(it|they|them|this|that|those|these|the buyer|the customer|the deal)\b",
                       re.I)
# Lone surrogates too: Python makes them of bytes that are not UTF-8 (a command-line argument
# typed in a Latin-1 terminal), and the tokenizer refuses them.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class QuestionError(ValueError):
    """A question the assistant cannot take (empty, for instance); the message says why."""


def clean_question(question: str, limit: int) -> tuple[str, str | None]:
    """The question without control characters, cut to `limit` characters (with a notice)."""
    q = " ".join(CONTROL.sub(" ", question or "").split())
    if not q:
        raise QuestionError("Please type a question.")
    if len(q) > limit:
        return q[:limit], f"Only the first {limit} characters of the question were used."
    return q, None


def retrieval_query(question: str, history: Sequence) -> str:
    """A follow-up ("what about a reseller?") is searched together with the question before it."""
    previous = [getattr(h, "question", h) for h in history if getattr(h, "question", h)]
    if previous and (len(question.split()) < 12 or FOLLOW_UP.search(question)):
        return f"{previous[-1]} {question}"
    return question


class Assistant:
    """Answers dilemma questions from the library, with citations, or says it cannot."""

    def __init__(self, settings: Settings, library, chat_model=None):
        self.settings = settings
        self.library = library
        self._chat_model = chat_model

    @cached_property
    def retriever(self) -> HybridRetriever:
        s = self.settings
        return HybridRetriever(self.library.store, self.library.embedder, s.retrieval,
                               s.data_dir / "cache" / s.collection)

    @property
    def library_version(self) -> str:
        """Which documents, in which versions, answers are drawn from (recorded in audit trails)."""
        return self.library.store.version()

    @cached_property
    def sentence_vectors(self) -> SentenceVectors:
        return SentenceVectors(self.library.embedder)

    def warm_up(self) -> Assistant:
        """Load the model and the keyword index now, not on the first question."""
        self.library.store.check_compatible(self.library.embedder.model_id)
        self.library.embedder.load()
        self.retriever.refresh()
        return self

    def retrieve(self, query: str, k: int | None = None, filters: Filters = Filters()) -> Retrieval:
        return self.retriever.retrieve(query, k, filters)

    def guidance(self, query: str, k: int = 3) -> list[Citation]:
        """The best passages for a query as citations (used beside each assessment step)."""
        found = self.retrieve(query, k)
        return [Citation(n=i, doc_id=p.doc_id, title=p.title, quote=p.text, page=p.page,
                         section=p.section, start=p.start, end=p.end, passage=p.text)
                for i, p in enumerate(found.passages, 1)]

    def answer(self, question: str, history: Sequence = (), mode: str | None = None,
               k: int | None = None, filters: Filters = Filters(),
               on_token: Callable[[str], None] | None = None) -> Answer:
        """Answer one question; `history` holds earlier questions (or Answers) of the conversation."""
        started = time.perf_counter()
        q, notice = clean_question(question, self.settings.max_question_chars)
        query = retrieval_query(q, history)
        found = self.retrieve(query, k, filters)
        if query != q and not FOLLOW_UP.search(q):
            # Short but with no follow-up cue: it must be answerable on its own too, or an
            # off-topic question would borrow relevance from the one before it.
            alone = self.retrieve(q, k, filters)
            if not alone.relevant:
                found = alone
        timings = dict(found.timings)
        passages = tuple(found.passages)
        if not found.relevant or not passages:
            text = DECLINE
            if passages:
                text += "\n\n" + "\n".join(f"- {t}" for t in _nearest_titles(passages))
            timings["total"] = time.perf_counter() - started
            return Answer(q, text, declined=True, passages=passages, timings=timings,
                          notice=notice)
        mode = mode or ("llm" if self.settings.llm_provider != "none" else "extractive")
        if mode == "llm":
            answer = self._llm_answer(q, passages, timings, on_token)
            if answer is not None:
                timings["total"] = time.perf_counter() - started
                return replace(answer, notice=_join(notice, answer.notice),
                               weak_match=found.weak)
            notice = _join(notice, "The language model could not be reached, so this answer was "
                                   "composed from the library's own sentences instead.")
        t0 = time.perf_counter()
        text, cites = compose(q, list(passages), self.sentence_vectors,
                              self._checklist(found, filters))
        timings["compose"] = time.perf_counter() - t0
        if on_token:
            on_token(text)
        timings["total"] = time.perf_counter() - started
        return Answer(q, text, tuple(cites), passages=passages, timings=timings,
                      mode="extractive", notice=notice, weak_match=found.weak)

    def _llm_answer(self, q: str, passages, timings, on_token) -> Answer | None:
        from assistant.llm import LLMAnswerer, LLMUnavailable

        try:
            answerer = LLMAnswerer(self._chat_model or self._configured_chat_model(),
                                   self.library.embedder, self.settings.llm)
            t0 = time.perf_counter()
            answer = answerer.answer(q, list(passages), on_token=on_token)
            timings["generate"] = time.perf_counter() - t0
            return replace(answer, passages=passages, timings=timings)
        except LLMUnavailable:
            return None

    def _configured_chat_model(self):
        from assistant.llm import build_chat_model

        return build_chat_model(self.settings.llm)

    def _checklist(self, found: Retrieval, filters: Filters) -> tuple[Passage, list] | None:
        """The 'Questions to work through' list that best fits the question, if one fits.

        Candidates are the checklist sections nearest the question (within the filters);
        the document of the best passage comes first, then any retrieved document, then
        documents of kind checklist.
        """
        retriever = self.retriever
        sections = sorted({str(c.metadata.get("section")) for c in retriever.index.chunks
                           if CHECKLIST_HEADING.lower() in str(c.metadata.get("section", "")).lower()})
        if not sections or not found.vector or not found.passages:
            return None
        committed = {d: r.doc_hash for d, r in retriever.documents.items()}
        hits = self.library.store.query(found.vector, 6, committed, retriever.allowed(filters),
                                        where={"section": {"$in": sections}})
        top = found.passages[0].doc_id
        retrieved = {p.doc_id for p in found.passages}
        docs = retriever.documents

        def fit(hit) -> float:
            doc_id = hit.metadata.get("doc_id")
            kind = docs[doc_id].kind if doc_id in docs else ""
            return (hit.similarity + 0.1 * (doc_id == top) + 0.05 * (doc_id in retrieved)
                    + 0.03 * (kind == "checklist"))

        for hit in sorted(hits, key=fit, reverse=True):
            if hit.similarity < self.settings.min_dense:
                continue
            section = self._section_passage(hit.metadata["doc_id"], hit.metadata["section"])
            items = checklist_items(section.text) if section else []
            if len(items) >= 3:
                return section, items
        return None

    def _section_passage(self, doc_id: str, heading: str) -> Passage | None:
        """A whole section of a document, put back together from its chunks."""
        parts = sorted((c for c in self.retriever.index.chunks
                        if c.metadata.get("doc_id") == doc_id
                        and c.metadata.get("section") == heading),
                       key=lambda c: c.metadata.get("start", 0))
        if not parts:
            return None
        text, end = parts[0].text, parts[0].metadata["end"]
        for c in parts[1:]:
            start = c.metadata["start"]
            text += c.text[end - start:] if start < end else "\n\n" + c.text
            end = max(end, c.metadata["end"])
        first = to_passage(parts[0], 1.0, None, None)
        return replace(first, text=text, end=first.start + len(text))


def _nearest_titles(passages: Sequence[Passage]) -> list[str]:
    seen: list[str] = []
    for p in passages:
        label = f"{p.title} ({p.location})"
        if label not in seen:
            seen.append(label)
    return seen[:3]


def _join(a: str | None, b: str | None) -> str | None:
    return " ".join(x for x in (a, b) if x) or None
