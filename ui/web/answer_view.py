"""One answer on the Ask page, laid out for skimming, and the feedback under it.

A composed answer shows its bottom line first, in a box, then what to do now and what to
watch for; the related case and the questions to work through fold away below. An answer
without parts (written by a language model) shows its text as written. Everything is read
off the Answer record; nothing is worked out again here.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from assistant.answer import (
    DECLINE,
    LEGAL_NOTE,
    PART_HEADINGS,
    UNSUPPORTED,
    Answer,
    answers_line,
)
from assistant.library.retriever import Filters
from assistant.settings import app_version
from ui.web import components as ui
from ui.web import library_review, resources, source_page

log = logging.getLogger(__name__)
DIRECTION = {"yes": ("Verdict: yes", "green"), "no": ("Verdict: no", "red"),
             "depends": ("Verdict: it depends", "orange")}


def new_turn_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class Turn:
    """One question and its answer, with the filters that were in force."""

    answer: Answer
    filters: Filters
    id: str = field(default_factory=new_turn_id)


def sources_prefix(turn_id: str) -> str:
    """The key prefix of one turn's sources, where its answer's [n] links lead."""
    return f"source-{turn_id}"


def filters_record(f: Filters) -> dict:
    return {"kinds": list(f.kinds), "topics": list(f.topics), "doc_ids": list(f.doc_ids)}


def filters_from(record: dict) -> Filters:
    return Filters(**{k: tuple(record.get(k) or ()) for k in ("kinds", "topics", "doc_ids")})


def answer(a: Answer, turn_id: str, key: str | None = None) -> None:
    """The answer's text: its parts when it has them, else its text; each [n] marker links to
    source n in the list `details` draws for the turn `turn_id`; `key` names the bottom
    line's box (components.scroll_to brings it into view)."""
    if a.declined:
        return
    sources = ui.source_keys(sources_prefix(turn_id), a.citations)

    def md(text: str) -> str:
        return ui.answer_markdown(text, sources)

    p = a.parts
    if p is None or not p.bottom_line:
        st.markdown(md(a.text))
        return
    with st.container(border=True, key=key):
        head, badge = st.columns([4, 1], vertical_alignment="center")
        head.markdown(f"**:material/flag: {PART_HEADINGS['bottom_line']}**")
        if p.direction in DIRECTION:
            label, colour = DIRECTION[p.direction]
            with badge:
                st.badge(label, color=colour)
        st.markdown("\n\n".join(md(line) for line in p.bottom_line))
        if p.answers_question:  # the verdict's own question, so its yes or no is read right
            st.caption(answers_line(ui.md_escape(p.answers_question)))
        if p.figure_check:
            st.caption(ui.md_escape(p.figure_check))
    if p.steps:
        heading = PART_HEADINGS["steps"] + (f" (from {p.steps_from})" if p.steps_from else "")
        _block(f":material/checklist: {ui.md_escape(heading)}", _lines(p.steps, md, True))
    if p.guidance:
        _block(ui.md_escape(PART_HEADINGS["guidance"]), _lines(p.guidance, md))
    if p.watch_for:
        _block(f":material/warning: {ui.md_escape(PART_HEADINGS['watch_for'])}",
               _lines(p.watch_for, md))
    if p.case and p.case_lines:
        with st.expander(f"Related case: {ui.inline(p.case)}", icon=":material/cases:"):
            st.markdown(_lines(p.case_lines, md))
    if p.checklist:
        with st.expander(f"Questions to work through (from {ui.inline(p.checklist_title)})",
                         icon=":material/quiz:"):
            st.markdown(_lines(p.checklist, md, numbered=True))
    if p.legal_note:
        st.caption(f":material/gavel: {ui.md_escape(LEGAL_NOTE)}")


def _block(heading: str, lines: str) -> None:
    st.markdown(f"**{heading}**\n\n" + lines)


def _lines(lines, md, numbered: bool = False) -> str:
    return "\n".join(f"{i}. {md(ln)}" if numbered else f"- {md(ln)}"
                     for i, ln in enumerate(lines, 1))


def details(turn: Turn) -> None:
    """What follows an answer: the decline and its nearest documents, warnings, unsupported
    sentences, citations and feedback."""
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
    approved = resources.access().reviews.approved()  # read once for all the sources
    ui.citations(a.citations, more=lambda c: _source_extras(c, turn.id, approved),
                 prefix=sources_prefix(turn.id))
    _feedback(turn)


def _source_extras(c, turn_id: str, approved: dict) -> None:
    """Under a citation: where the document came from, and the PDF at its page."""
    record = resources.library().store.document(c.doc_id)
    if record is not None:
        st.caption(f"Provenance: {ui.inline(library_review.provenance(record, approved))}")
    source_page.open_button(c, turn_id)


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
        resources.conversations().add_feedback(turn.id, "up" if rating == 1 else "down",
                                               comment, feedback_record(turn))
    except (OSError, SQLAlchemyError) as exc:
        log.warning("feedback not saved: %s", exc)
        st.toast(f"Your feedback was not saved: {ui.inline(exc)}", icon=":material/error:")
        return False
    return True


def feedback_record(turn: Turn) -> dict:
    """What a vote keeps beside the thumb: the answer, its sources and the settings in force,
    so a reviewer can reproduce what the user saw."""
    s = resources.settings()
    a = turn.answer
    return {
        "question": a.question, "answer": a.text, "declined": a.declined, "mode": a.mode,
        "citations": [c.to_dict() for c in a.citations],
        "filters": filters_record(turn.filters),
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


def stamp(human: bool = False) -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC" if human else "%Y%m%d-%H%M")
