"""Ask: a conversation with the library; every answer cites its sources or says it cannot."""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import streamlit as st

from assistant.answer import DECLINE, UNSUPPORTED, Answer
from assistant.datadir import append_line
from assistant.engine import QuestionError
from assistant.library.retriever import Filters
from assistant.library.store import LibraryMismatch
from assistant.markdown import answer_markdown, escape
from assistant.settings import app_version
from ui.web import components as ui
from ui.web import resources

log = logging.getLogger(__name__)
_DONE = object()
EXAMPLES = ("A state-owned operator wants lawful interception in the core network we sell. "
            "What should we check?",
            "A reseller will not tell us who the end user of our packet-inspection kit is. "
            "Can we go ahead?",
            "The government orders a mobile data shutdown before an election. What do we do?")


@dataclass
class Turn:
    """One question and its answer, with the filters that were in force."""

    answer: Answer
    filters: Filters
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


def main() -> None:
    ui.page_header("Ask the library", "Describe a dilemma in your own words. Every answer "
                   "cites the guidance it relies on, or says the library does not cover it.",
                   ":material/forum:")
    ui.legal_note()
    turns: list[Turn] = st.session_state.setdefault("ask_turns", [])
    try:
        assistant = resources.assistant()
        docs = assistant.library.store.documents()
    except LibraryMismatch as exc:
        st.error(ui.inline(exc))
        return
    if not docs:
        st.info("The library is empty. Add PDF or Markdown guidance on the **Library** page, "
                "or run `hrdd ingest corpus/`.", icon=":material/info:")
        return
    filters = _filters(docs)
    limit = resources.settings().max_question_chars
    for turn in turns:
        with st.chat_message("user"):
            st.markdown(ui.md_escape(_shown(turn.answer.question, limit)))
        with st.chat_message("assistant"):
            if not turn.answer.declined:
                st.markdown(ui.answer_markdown(turn.answer.text))
            _details(turn)
    suggestions = st.empty()
    example = _examples(suggestions) if not turns else None
    # No max_chars: the browser would drop a longer paste without a word. The assistant uses
    # the first `limit` characters and says so (a warning under the answer).
    question = st.chat_input("Ask about a human-rights dilemma, e.g. a sale to a state-owned "
                             "operator")
    question = question or example
    if question:
        suggestions.empty()
        with st.chat_message("user"):
            st.markdown(ui.md_escape(_shown(question, limit)))
            if len(question) > limit:
                st.caption(f"Your question is {len(question):,} characters long; the first "
                           f"{limit:,} are used.")
        with st.chat_message("assistant"):
            answer = _answer(assistant, question, [t.answer for t in turns], filters)
            if answer is not None:
                turn = Turn(answer, filters)
                turns.append(turn)
                _details(turn)
    if turns:
        _conversation_actions(turns)


def _shown(question: str, limit: int) -> str:
    """The question as its bubble shows it: no more than the assistant reads."""
    return question if len(question) <= limit else question[:limit].rstrip() + " …"


def _examples(slot) -> str | None:
    """Example questions for an empty conversation; the one clicked, if any."""
    chosen = None
    with slot.container():
        st.markdown("**Try a question**")
        for i, column in enumerate(st.columns(len(EXAMPLES))):
            if column.button(EXAMPLES[i], width="stretch", key=f"example-{i}"):
                chosen = EXAMPLES[i]
    return chosen


def _filters(docs) -> Filters:
    with st.sidebar:
        st.markdown("**Filter the sources**")
        kinds = st.multiselect("Document kind", sorted({d.kind for d in docs}),
                               key="ask_kinds", placeholder="All kinds")
        topics = st.multiselect("Topic", sorted({t for d in docs for t in d.topics}),
                                key="ask_topics", placeholder="All topics")
    return Filters(kinds=tuple(kinds), topics=tuple(topics))


def _conversation_actions(turns: list[Turn]) -> None:
    """Drawn after the answer, so a new answer is in the export at once."""
    with st.sidebar:
        st.markdown("**Conversation**")
        st.download_button("Export conversation", conversation_markdown(turns),
                           file_name=f"hrdd-conversation-{_stamp()}.md", mime="text/markdown",
                           icon=":material/download:", width="stretch")
        if st.button("New conversation", icon=":material/add_comment:", width="stretch"):
            st.session_state["ask_turns"] = []
            st.rerun()


def _answer(assistant, question: str, history: list[Answer], filters: Filters) -> Answer | None:
    """Stream the answer as it is written; the assistant works in a thread, so tokens show
    as they come whichever thread the language model calls back from."""
    tokens: queue.Queue = queue.Queue()
    result: dict = {}

    def work() -> None:
        from assistant.chain import AnswerPipeline

        try:
            request = {"question": question, "history": history, "filters": filters}
            for piece in AnswerPipeline(assistant).stream(request):
                if isinstance(piece, Answer):
                    result["answer"] = piece
                else:
                    tokens.put(piece)
        except Exception as exc:  # noqa: BLE001 - shown to the user below
            result["error"] = exc
        finally:
            tokens.put(_DONE)

    threading.Thread(target=work, daemon=True, name="hrdd-answer").start()
    with st.spinner("Searching the library ..."):
        first = tokens.get()
    if first is not _DONE:  # a declined answer or an error streams nothing
        st.write_stream(_lines(first, tokens))
    error = result.get("error")
    if isinstance(error, QuestionError):
        st.warning(ui.inline(error))
        return None
    if error is not None:
        log.error("the assistant could not answer", exc_info=error)  # the traceback: server log
        st.error(f"The assistant could not answer: {ui.inline(error)}")
        return None
    return result["answer"]


def _lines(first, tokens: queue.Queue) -> Iterator[str]:
    """Escaped Markdown, one finished line at a time (escaping needs whole lines)."""
    buffer, item = str(first), first
    while item is not _DONE:
        *done, buffer = buffer.split("\n")
        for line in done:
            yield ui.answer_markdown(line) + "\n"
        item = tokens.get()
        if item is not _DONE:
            buffer += str(item)
    if buffer:
        yield ui.answer_markdown(buffer)


def _details(turn: Turn) -> None:
    """What follows an answer: the decline and its nearest documents, warnings, unsupported
    sentences, citations and feedback; all read off the Answer record."""
    a = turn.answer
    if a.declined:
        st.info(ui.inline(DECLINE), icon=":material/block:")
        if a.nearest:
            st.markdown("**Nearest documents in the library**\n\n"
                        + "\n".join(f"- {ui.inline(t)}" for t in a.nearest))
    for warning in a.warnings:
        st.warning(ui.inline(warning), icon=":material/warning:")
    if a.unsupported:
        st.markdown(f"**{ui.inline(UNSUPPORTED)}**\n\n"
                    + "\n".join(f"- {ui.inline(s)}" for s in a.unsupported))
    ui.citations(a.citations)
    _feedback(turn)


def _feedback(turn: Turn) -> None:
    left, right = st.columns([1, 5], vertical_alignment="center")
    with left:
        rating = st.feedback("thumbs", key=f"fb-{turn.id}", on_change=_store_rating,
                             args=(turn,))
    if rating is not None:
        with right, st.popover("Add a comment", icon=":material/rate_review:"):
            with st.form(f"fbc-{turn.id}", clear_on_submit=True, border=False):
                comment = st.text_area("What was good or wrong about this answer?",
                                       max_chars=2000, key=f"fbt-{turn.id}")
                if st.form_submit_button("Send comment") and _saved(turn, rating, comment):
                    st.toast("Thank you: your comment was saved.", icon=":material/check:")


def _store_rating(turn: Turn) -> None:
    rating = st.session_state.get(f"fb-{turn.id}")
    if rating is not None:
        _saved(turn, rating, "")


def _saved(turn: Turn, rating: int, comment: str) -> bool:
    """Record feedback; False, with the reason shown, if it could not be written."""
    try:
        record_feedback(turn, rating, comment)
    except OSError as exc:  # DiskFull says "no space left on ..."
        log.warning("feedback not saved: %s", exc)
        st.toast(f"Your feedback was not saved: {ui.inline(exc)}", icon=":material/error:")
        return False
    return True


def record_feedback(turn: Turn, rating: int, comment: str) -> None:
    """Append one line to <data_dir>/feedback.jsonl: the answer, its sources and the settings
    in force, so a reviewer can reproduce what the user saw."""
    s = resources.settings()
    a = turn.answer
    line = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "turn": turn.id,
        "rating": "up" if rating == 1 else "down",
        "comment": comment.strip(),
        "question": a.question,
        "answer": a.text,
        "declined": a.declined,
        "mode": a.mode,
        "citations": [c.to_dict() for c in a.citations],
        "filters": {"kinds": list(turn.filters.kinds), "topics": list(turn.filters.topics)},
        "settings": {
            "collection": s.collection, "embedding_model": s.embedding.model,
            "chunk_tokens": s.chunk_tokens, "chunk_overlap": s.chunk_overlap,
            "retrieval_k": s.retrieval_k, "min_dense": s.min_dense,
            "min_keyword": s.min_keyword, "llm_provider": s.llm_provider,
            "llm_model": s.llm_model if s.llm_provider != "none" else None,
            "library_version": resources.library().store.version(),
            "app_version": app_version(),
        },
    }
    # 0600, and never half a line: a full disk raises DiskFull and leaves the file as it was
    append_line(resources.data_dir() / "feedback.jsonl", json.dumps(line, ensure_ascii=False))


def conversation_markdown(turns: list[Turn]) -> str:
    """The conversation as a Markdown file: questions, answers, warnings and citations."""
    out = [f"# HRDD Assistant conversation ({_stamp(human=True)})", "",
           f"> {escape(ui.NOT_LEGAL_ADVICE)}", ""]
    for i, turn in enumerate(turns, 1):
        out += [f"## {i}. {escape(turn.answer.question)}", ""]
        out += answer_markdown(turn.answer)
    return "\n".join(out)


def _stamp(human: bool = False) -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC" if human else "%Y%m%d-%H%M")


main()
