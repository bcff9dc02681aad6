"""Ask: a conversation with the library; every answer cites its sources or says it cannot."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator

import streamlit as st

from assistant.answer import Answer
from assistant.engine import QuestionError
from assistant.library.retriever import Filters
from assistant.library.store import LibraryMismatch
from ui.web import answer_view as view
from ui.web import components as ui
from ui.web import history, resources

log = logging.getLogger(__name__)
_DONE = object()
NEW_ANSWER = "new-answer"  # the key of the bottom-line box of the answer just written
EXAMPLES = ("A state-owned operator wants lawful interception in the core network we sell. "
            "What should we check?",
            "A reseller will not tell us who the end user of our packet-inspection kit is. "
            "Can we go ahead?",
            "The government orders a mobile data shutdown before an election. What do we do?")


def main() -> None:
    ui.page_header("Ask the library", "Describe a dilemma in your own words. Every answer "
                   "cites the guidance it relies on, or says the library does not cover it.",
                   ":material/forum:")
    ui.legal_note()
    turns = history.opened()
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
            view.answer(turn.answer, turn.id)
            view.details(turn)
    suggestions = st.empty()
    example = _examples(suggestions) if not turns else None
    # No max_chars: the browser would drop a longer paste without a word. The assistant uses
    # the first `limit` characters and says so (a warning under the answer).
    question = st.chat_input("Ask about a human-rights dilemma, e.g. a sale to a state-owned "
                             "operator")
    question, answer = question or example, None
    if question:
        suggestions.empty()
        with st.chat_message("user"):
            st.markdown(ui.md_escape(_shown(question, limit)))
            if len(question) > limit:
                st.caption(f"Your question is {len(question):,} characters long; the first "
                           f"{limit:,} are used.")
        with st.chat_message("assistant"):
            turn_id = view.new_turn_id()
            answer = _answer(assistant, question, [t.answer for t in turns], filters, turn_id)
            if answer is not None:
                turn = view.Turn(answer, filters, turn_id)
                turns.append(turn)
                history.save(turn, view.filters_record(filters))
                view.details(turn)
    history.sidebar(turns)
    if any(t.answer.citations for t in turns):
        ui.source_links()
    if answer is not None and answer.parts:
        ui.scroll_to(NEW_ANSWER)  # its bottom line first, not the end of its sources


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
        titles = {d.doc_id: d.title for d in sorted(docs, key=lambda d: d.title.lower())}
        if "ask_docs" in st.session_state:  # a document removed since it was chosen
            st.session_state["ask_docs"] = [i for i in st.session_state["ask_docs"] if i in titles]
        chosen = st.multiselect("Documents", list(titles), key="ask_docs",
                                format_func=lambda i: titles.get(i, i),
                                placeholder="All documents",
                                help="Answer only from these documents (with the kinds and "
                                     "topics above, if chosen).")
    return Filters(kinds=tuple(kinds), topics=tuple(topics), doc_ids=tuple(chosen))


def _answer(assistant, question: str, history: list[Answer], filters: Filters,
            turn_id: str) -> Answer | None:
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
    slot = st.empty()
    with st.spinner("Searching the library ..."):
        first = tokens.get()
    if first is not _DONE:  # a declined answer or an error streams nothing
        with slot.container():
            st.write_stream(_lines(first, tokens))
    error = result.get("error")
    if isinstance(error, QuestionError):
        st.warning(ui.inline(error))
        return None
    if error is not None:
        log.error("the assistant could not answer", exc_info=error)  # the traceback: server log
        st.error(f"The assistant could not answer: {ui.inline(error)}")
        return None
    with slot.container():  # the streamed text, laid out by its parts now it is whole
        view.answer(result["answer"], turn_id, key=NEW_ANSWER)
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


main()
