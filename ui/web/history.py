"""The Ask page's saved conversations: listed in the sidebar, reopened, renamed, deleted and
exported. They live in the database (assistant.conversations), so a reload or a restart of
the app loses none; the address bar carries the open one (`/ask?conversation=ID`).
"""

from __future__ import annotations

import logging
from functools import partial

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from assistant.markdown import answer_markdown, escape
from ui.web import components as ui
from ui.web import resources, signin
from ui.web.answer_view import Turn, filters_from, stamp

log = logging.getLogger(__name__)
S = st.session_state
SHOWN = 30  # conversations listed in the sidebar, the most recent first


def _me() -> str | None:
    """Whose conversations these are: the signed-in user (None without sign-in)."""
    return signin.owner_id(signin.current_user())


def opened() -> list[Turn]:
    """The turns of the conversation in the address bar (reopened from the database after a
    reload), or of the one this browser tab has open."""
    wanted = st.query_params.get("conversation")
    if wanted and wanted != S.get("ask_conversation"):
        try:
            saved = resources.conversations().load(wanted, _me())
        except KeyError:
            st.warning(f"There is no saved conversation {ui.inline(wanted)}; it may have been "
                       "deleted.", icon=":material/search_off:")
            st.query_params.pop("conversation", None)
        else:
            S["ask_turns"] = [Turn(t.answer, filters_from(t.filters), t.id) for t in saved.turns]
            S["ask_conversation"] = saved.id
    elif not wanted and S.get("ask_conversation"):  # back from another page: link it again
        st.query_params["conversation"] = S["ask_conversation"]
    return S.setdefault("ask_turns", [])


def save(turn: Turn, filters: dict) -> None:
    """Keep the new turn; the first one creates the conversation and puts it in the URL."""
    try:
        cid = resources.conversations().add_turn(S.get("ask_conversation"), turn.id,
                                                 turn.answer, filters, _me())
    except SQLAlchemyError as exc:
        log.warning("conversation not saved", exc_info=exc)
        st.warning(f"This answer was not saved in the history: {ui.inline(exc)}")
        return
    S["ask_conversation"] = cid
    st.query_params["conversation"] = cid


def sidebar(turns: list[Turn]) -> None:
    """Drawn after the answer, so a new answer is in the list and the export at once."""
    store = resources.conversations()
    current = S.get("ask_conversation")
    with st.sidebar:
        st.markdown("**Conversations**")
        if st.button("New conversation", icon=":material/add_comment:", width="stretch",
                     disabled=not turns):
            _open(None)
        saved = store.list(_me())
        for c in saved[:SHOWN]:
            if c.id == current:
                st.markdown(f":material/arrow_right: **{ui.inline(c.title)}**")
            elif st.button(ui.inline(c.title), key=f"conv-{c.id}", type="tertiary",
                           icon=":material/chat:", help=f"Saved {c.updated:%Y-%m-%d %H:%M} UTC"):
                _open(c.id)
        if len(saved) > SHOWN:
            st.caption(f"{len(saved) - SHOWN} older conversations are not listed.")
        if not saved:
            st.caption("Your conversations are saved here.")
        if turns:
            title = next((c.title for c in saved if c.id == current), "")
            _actions(current, title, turns)


def _actions(current: str | None, title: str, turns: list[Turn]) -> None:
    st.download_button("Export conversation", conversation_markdown(turns),
                       file_name=f"hrdd-conversation-{stamp()}.md", mime="text/markdown",
                       icon=":material/download:", width="stretch")
    if current is None:
        return
    with st.popover("Rename", icon=":material/edit:", width="stretch"):
        with st.form("rename-conversation", border=False):
            new = st.text_input("New title", value=title, max_chars=200)
            if st.form_submit_button("Save title"):
                try:
                    resources.conversations().rename(current, new, _me())
                except ValueError as exc:
                    st.error(ui.inline(exc))
                else:
                    st.rerun()
    if st.button("Delete conversation", icon=":material/delete:", width="stretch"):
        S["ask_deleting"] = current
    if S.get("ask_deleting") == current:  # kept until answered, so every rerun shows it
        _confirm_delete(current, title)


@st.dialog("Delete this conversation?", on_dismiss=partial(S.pop, "ask_deleting", None))
def _confirm_delete(conversation_id: str, title: str) -> None:
    st.markdown(f"**{ui.inline(title)}** and its answers will be deleted from the history. "
                "Feedback already given on them is kept for the reviewers.")
    if ui.confirmed("ask_deleting", "Delete", ":material/delete:"):
        resources.conversations().delete(conversation_id, _me())
        _open(None)


def _open(conversation_id: str | None) -> None:
    S["ask_turns"], S["ask_conversation"] = [], None
    S.pop("ask_deleting", None)
    if conversation_id:
        st.query_params["conversation"] = conversation_id  # opened() loads it
    else:
        st.query_params.pop("conversation", None)
    st.rerun()


def conversation_markdown(turns: list[Turn]) -> str:
    """The conversation as a Markdown file: questions, answers, warnings and citations."""
    out = [f"# HRDD Assistant conversation ({stamp(human=True)})", "",
           f"> {escape(ui.NOT_LEGAL_ADVICE)}", ""]
    for i, turn in enumerate(turns, 1):
        out += [f"## {i}. {escape(turn.answer.question)}", ""]
        out += answer_markdown(turn.answer)
    return "\n".join(out)
