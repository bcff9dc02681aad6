"""The Library page's review queue, provenance and shared audit log (librarians, admins)."""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from assistant.access.identity import Refused
from assistant.access.roles import Permission
from assistant.settings import STARTER_CORPUS
from ingest import reviewed
from ui.web import components as ui
from ui.web import resources

AUDIT_SHOWN = 200


def provenance(record, approved: dict | None = None) -> str:
    """Where a library document came from: the starter library, or who added and approved it
    (`approved`: `DocumentReviews.approved()`, read once for a list of documents)."""
    if approved is None:
        approved = resources.access().reviews.approved()
    found = approved.get(record.doc_id)
    if found is not None:
        return found.provenance
    if Path(record.source).resolve().is_relative_to(STARTER_CORPUS.resolve()):
        return "Starter library"
    return f"Indexed from {Path(record.source).parent.name or 'a folder'} on " \
           f"{record.ingested_at[:10]} (command line)"


def waiting(library, user) -> None:
    """Uploads waiting for review: approve (a second librarian, where required) or reject."""
    reviews = resources.access().reviews
    pending = reviews.pending()
    if not pending:
        return
    second = resources.settings().access.second_librarian
    st.subheader(f"Waiting for review ({len(pending)})", anchor=False)
    st.caption("Answers do not use these until a librarian approves them"
               + (" (not the one who uploaded it)." if second else "."))
    for r in pending:
        with st.container(border=True):
            st.markdown(f"**{ui.inline(r.title)}** ({ui.inline(r.doc_id)}) · "
                        f"{ui.inline(r.file_name)}")
            st.caption(f"Added by {ui.inline(r.added_by)} on {r.added_at:%Y-%m-%d %H:%M} UTC"
                       + (f" · {ui.inline(r.note)}" if r.note else ""))
            own = second and r.added_by_id == user.id
            left, right = st.columns(2)
            if left.button("Approve", key=f"approve-{r.id}", icon=":material/check:",
                           disabled=own, help="Another librarian must approve your upload"
                           if own else None):
                _decide(library, reviews, user, r, True, second)
            if right.button("Reject", key=f"reject-{r.id}", icon=":material/close:"):
                _decide(library, reviews, user, r, False, second)


def _decide(library, reviews, user, review, approve: bool, second: bool) -> None:
    try:
        if approve:
            done = reviewed.approve(library, reviews, user, review.id, second_person=second)
            if done.outcome == "failed":
                st.error(f"{ui.inline(review.title)} could not be indexed: "
                         f"{ui.inline(done.reason)}; it waits again.", icon=":material/error:")
                return
            st.session_state["library_flash"] = f"Approved and indexed {ui.inline(review.title)}."
        else:
            reviewed.reject(reviews, user, review.id)
            st.session_state["library_flash"] = f"Rejected {ui.inline(review.title)}."
    except (Refused, KeyError) as exc:
        st.error(ui.inline(exc.args[0] if exc.args else exc), icon=":material/block:")
        return
    st.rerun()


def audit_log(user) -> None:
    """Who uploaded, reviewed, removed or rebuilt what, and who was refused; exportable."""
    records = resources.access()
    st.subheader("Audit log", anchor=False)
    everything = records.events()  # read once: the table, and both exports
    events = everything[:AUDIT_SHOWN]
    if not events:
        st.caption("Nothing recorded yet.")
        return
    st.caption(f"The latest {len(events)} events, newest first. "
               + ("Every event is in the export." if user.may(Permission.ADMINISTER) else ""))
    st.dataframe(ui.cells([{"When (UTC)": e.at.strftime("%Y-%m-%d %H:%M:%S"), "Who": e.who,
                            "Action": e.action, "What": e.target, "Detail": e.detail,
                            "Allowed": "yes" if e.allowed else "refused"} for e in events]),
                 hide_index=True, width="stretch")
    left, right = st.columns(2)
    left.download_button("Export the audit log (CSV)", records.events_csv(everything),
                         file_name="hrdd-audit.csv", mime="text/csv",
                         icon=":material/download:")
    right.download_button("Export the audit log (JSON)",
                          json.dumps([e.to_dict() for e in everything], indent=2),
                          file_name="hrdd-audit.json", mime="application/json",
                          icon=":material/download:")
