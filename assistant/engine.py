"""The Assistant: one entry point, `answer(question, history)`, for the CLI, the UI and evaluations."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cached_property

from assistant import language
from assistant.answer import DECLINE, Answer, Citation, Passage
from assistant.extractive import Composer
from assistant.library.injection import is_instruction
from assistant.library.retriever import Filters, HybridRetriever, Retrieval
from assistant.settings import Settings

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
                               self.library.cache_dir, self.library.sentences)

    @property
    def library_version(self) -> str:
        """Which documents, in which versions, answers are drawn from (recorded in audit trails)."""
        return self.library.store.version()

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
               on_token: Callable[[str], None] | None = None, config=None) -> Answer:
        """Answer one question; `history` holds earlier questions (or Answers) of the conversation.

        `config` is a LangChain RunnableConfig passed to the chat model (see assistant.chain).
        """
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
        found, language_note = self._same_language(q, found)
        notice = _join(notice, language_note)
        timings = dict(found.timings)
        passages = tuple(found.passages)
        if not found.relevant or not passages:
            nearest = nearest_documents(passages)
            text = "\n\n".join([DECLINE, "\n".join(f"- {t}" for t in nearest)]) if nearest \
                else DECLINE
            timings["total"] = time.perf_counter() - started
            return Answer(q, text, declined=True, passages=passages, timings=timings,
                          notice=notice, nearest=tuple(nearest))
        mode = mode or ("llm" if self.settings.llm_provider != "none" else "extractive")
        fallback = None
        if mode == "llm":
            from assistant.llm import LLMFailure

            try:
                if found.weak:  # a loose match: the model would have little to go on
                    raise LLMFailure("weak_match")
                answer = self._llm_answer(q, passages, on_token, config)
                timings.update(answer.timings)
                timings["total"] = time.perf_counter() - started
                return replace(answer, notice=_join(notice, answer.notice), passages=passages,
                               timings=timings)
            except LLMFailure as failure:
                fallback = failure.reason
                notice = _join(notice, failure.notice)
        t0 = time.perf_counter()
        composer = Composer(self.retriever.sections, self.library.sentences)
        parts, cites = composer.compose(q, found.kind, found.vector, list(passages),
                                        self.retriever.checklist(found, filters))
        text = parts.render_text()
        timings["compose"] = time.perf_counter() - t0
        if on_token:
            on_token(text)
        timings["total"] = time.perf_counter() - started
        return Answer(q, text, tuple(cites), passages=passages, timings=timings,
                      mode="extractive", notice=_join(notice, flagged_sources(cites)),
                      weak_match=found.weak, parts=parts, fallback=fallback)

    def _same_language(self, q: str, found: Retrieval) -> tuple[Retrieval, str | None]:
        """A question in a language the library has no passage in is answered only from English
        passages that match it on their own; otherwise declined, with a note saying why."""
        lang = language.detect(q)
        if lang in (None, "en") or not found.passages:
            return found, None
        langs = [language.detect(p.text) for p in found.passages]
        if lang in langs:
            return found, None
        english = [p for p, pl in zip(found.passages, langs, strict=True) if pl in (None, "en")]
        name = language.name(lang)
        close = max((p.dense_score or 0.0 for p in english), default=0.0)
        # The relevance verdict may rest on a passage in a third language: the English
        # passages must clear the dense floor on their own.
        if found.relevant and close >= self.settings.retrieval.min_dense:
            return replace(found, passages=english), (
                f"The question seems to be in {name}, and the library has nothing in {name}: "
                "this answer comes from the English guidance it matches.")
        return replace(found, passages=english, relevant=False), (
            f"The question seems to be in {name}, and the library has no documents in {name}; "
            "try asking in English.")

    def _llm_answer(self, q: str, passages, on_token, config=None) -> Answer:
        from assistant.llm import LLMAnswerer

        answerer = LLMAnswerer(self._chat_model or self._configured_chat_model(),
                               self.library.embedder, self.settings.llm)
        return answerer.answer(q, list(passages), on_token=on_token, config=config)

    def _configured_chat_model(self):
        from assistant.llm import build_chat_model

        return build_chat_model(self.settings.llm)


def nearest_documents(passages: Sequence[Passage]) -> list[str]:
    """Up to three documents, best first, as "title (location of its best passage)"."""
    best: dict[str, str] = {}
    for p in passages:
        best.setdefault(p.doc_id, f"{p.title} ({p.location})")
    return list(best.values())[:3]


def flagged_sources(cites: Sequence[Citation]) -> str | None:
    """The notice for quotes that address an AI (assistant.library.injection), if any."""
    flagged = [f"[{c.n}]" for c in cites if is_instruction(c.quote)]
    if not flagged:
        return None
    return (f"Source {', '.join(flagged)} contains text addressed to an AI or giving it orders; "
            "it is quoted as the document has it, not followed. Check the document.")


def _join(a: str | None, b: str | None) -> str | None:
    return " ".join(x for x in (a, b) if x) or None
