"""Library: upload guidance, see what the library holds, remove a document, rebuild the index."""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import streamlit as st

from assistant.access.identity import Refused
from assistant.access.roles import Permission
from assistant.datadir import DiskFull
from assistant.library.store import LibraryMismatch
from ingest import reviewed
from ingest.lock import IngestBusy
from ingest.uploads import UPLOADS
from ui.web import components as ui
from ui.web import gaps, library_review, resources, signin

S = st.session_state
OUTCOME_ICONS = {"added": "🟢", "updated": "🔵", "unchanged": "⚪", "failed": "🔴",
                 "removed": "🟠", "pending": "🟡"}


def main() -> None:
    user = signin.current_user()
    curator = user.may(Permission.CURATE)
    ui.page_header("Library", "The guidance the assistant answers from: upload documents, "
                   "check what is indexed, remove or rebuild." if curator else
                   "The guidance the assistant answers from.", ":material/library_books:")
    flash = st.session_state.pop("library_flash", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    library = resources.library()
    if curator:  # a reader sees the documents only; the actions check the role again
        _upload(library, user)
        library_review.waiting(library, user)
    docs = library.store.documents()
    _documents(docs)
    if not curator:
        return
    left, right = st.columns(2, gap="large")
    with left:
        _remove(library, docs, user)
    with right:
        _rebuild(library, user)
    gaps.missing(docs)
    library_review.audit_log(user)


def _upload(library, user) -> None:
    limit = resources.settings().max_file_mb
    second = resources.settings().access.second_librarian
    st.subheader("Add documents", anchor=False)
    if second:
        st.caption("An upload waits for review by another librarian before answers use it.")
    with st.form("upload", clear_on_submit=True):
        files = st.file_uploader(
            f"PDF or Markdown files, up to {limit:g} MB each", type=["pdf", "md", "markdown"],
            accept_multiple_files=True, max_upload_size=max(1, math.ceil(limit)),
            help="A PDF needs extractable text (scanned pages are not read). Markdown may "
                 "carry YAML front matter: title, kind, topics, publisher, year.")
        submitted = st.form_submit_button("Send for review" if second else "Add to library",
                                          type="primary", icon=":material/upload_file:")
    if submitted and not files:
        st.warning("Choose one or more files first.")
    elif submitted:
        st.session_state["library_outcomes"] = _ingest_uploads(library, user, files, second)
    rows = st.session_state.get("library_outcomes")
    if rows:
        _outcomes(rows)


def _ingest_uploads(library, user, files, second: bool) -> list[dict]:
    """Check each upload and put it up for review, or in at once for a one-person install
    (see `ingest.reviewed.upload`: a file that cannot go in is reported and left out)."""
    reviews = resources.access().reviews
    rows = []
    for f in files:
        try:
            o = reviewed.upload(library, reviews, user, f.name, f.getvalue(),
                                second_person=second, progress=_progress_bar())
        except Refused as exc:
            o = reviewed.UploadOutcome(f.name, "failed", reason=str(exc))
        rows.append(_row(o.name, o.outcome, o.doc_id, o.chunks, o.reason))
    return rows


def _progress_bar():
    bar = st.progress(0.0, text="Starting ...")
    files_done = {"share": 0.0}

    def progress(stage: str, done: int, total: int, detail: str) -> None:
        if stage == "parse":
            files_done["share"] = done / total if total else 1.0
            shown = f"Reading {detail} ({min(done + 1, total)} of {total})" if detail else \
                "All files read"
        else:
            shown = f"Embedded {done} chunks ({detail})"
        bar.progress(files_done["share"], text=ui.inline(shown))

    return progress


def _row(name: str, outcome: str, doc_id: str = "", chunks: int = 0, reason: str = "") -> dict:
    return {"File": name, "Outcome": f"{OUTCOME_ICONS.get(outcome, '')} {outcome}",
            "Document": doc_id, "Chunks": chunks or None, "Reason": reason}


def _outcomes(rows: list[dict]) -> None:
    failed = [r for r in rows if r["Outcome"].endswith("failed")]
    waiting = sum(r["Outcome"].endswith("pending") for r in rows)
    ok = len(rows) - len(failed) - waiting
    if ok:
        st.success(f"{ok} file(s) processed.", icon=":material/check_circle:")
    if waiting:
        st.info(f"{waiting} file(s) wait for another librarian's review; answers do not use "
                "them until then.", icon=":material/pending:")
    for r in failed:
        st.error(f"{ui.inline(r['File'])} was not added: {ui.inline(r['Reason'])}",
                 icon=":material/error:")
    st.dataframe(ui.cells(rows), hide_index=True, width="stretch")


def _documents(docs) -> None:
    st.subheader(f"Documents ({len(docs)})", anchor=False)
    if not docs:
        st.info("The library is empty. Upload documents above, or rebuild the index from the "
                "starter corpus.", icon=":material/info:")
        return
    st.caption(f"{sum(d.chunks for d in docs)} chunks from "
               + ", ".join(f"{sum(d.kind == k for d in docs)} {k}"
                           for k in sorted({d.kind for d in docs})))
    for d in docs:
        if d.instructions:
            st.warning(ui.md_escape(
                f"{d.title} ({d.doc_id}) has {d.instructions} sentence(s) addressed to an AI or "
                "giving it orders. They are kept from the language model and never count as "
                "support; check the document."), icon=":material/gpp_maybe:")
    approved = resources.access().reviews.approved()
    st.dataframe(
        ui.cells([{"Title": d.title, "Kind": d.kind, "Topics": ", ".join(d.topics),
          "Publisher": d.publisher, "Year": d.year, "Size": f"{d.units} {d.unit_name}",
          "Chunks": d.chunks, "Ingested (UTC)": d.ingested_at[:16].replace("T", " "),
          "File": Path(d.source).name, "ID": d.doc_id,
          "Provenance": library_review.provenance(d, approved)} for d in docs]),
        hide_index=True, width="stretch",
        column_config={"Year": st.column_config.NumberColumn(format="%d"),
                       "Title": st.column_config.TextColumn(width="large")})


def _remove(library, docs, user) -> None:
    st.subheader("Remove a document", anchor=False)
    if not docs:
        st.caption("Nothing to remove.")
        return
    titles = {d.doc_id: d.title for d in docs}
    doc_id = st.selectbox("Document", list(titles), format_func=lambda d: f"{titles[d]} ({d})",
                          index=None, placeholder="Choose a document", key="remove_doc")
    if st.button("Remove document", icon=":material/delete:", disabled=doc_id is None):
        S["library_removing"] = doc_id
    if doc_id is not None and S.get("library_removing") == doc_id:  # until answered
        _confirm_remove(library, doc_id, titles[doc_id], user)


@st.dialog("Remove this document?", on_dismiss=partial(S.pop, "library_removing", None))
def _confirm_remove(library, doc_id: str, title: str, user) -> None:
    st.markdown(f"**{ui.inline(title)}** and its chunks leave the library; answers will no "
                "longer cite it.")
    if not ui.confirmed("library_removing", "Remove", ":material/delete:"):
        return
    try:
        # under the ingest lock (never mid-update), after the role check
        record = reviewed.remove_document(library, resources.access().reviews, user, doc_id)
    except (IngestBusy, Refused) as exc:
        st.error(ui.inline(exc))
        return
    uploads = (resources.data_dir() / UPLOADS).resolve()
    note = (" The uploaded file was deleted too." if record and
            Path(record.source).resolve().parent == uploads else "")
    # the title is document text: escaped, so it cannot load an image or make a link
    st.session_state["library_flash"] = f"Removed {ui.inline(title)}.{note}"
    st.session_state.pop("remove_doc", None)
    st.rerun()


def _rebuild(library, user) -> None:
    st.subheader("Rebuild the index", anchor=False)
    st.caption("Indexes the starter corpus and every uploaded file again, into a new index "
               "beside the current one; questions are answered from the current one until the "
               "new one is complete. Needed after changing the embedding model or the "
               "chunking; takes several minutes.")
    if st.button("Rebuild the index", icon=":material/sync:"):
        S["library_rebuilding"] = True
    if S.get("library_rebuilding"):  # until answered
        _confirm_rebuild(library, user)


@st.dialog("Rebuild the index?", on_dismiss=partial(S.pop, "library_rebuilding", None))
def _confirm_rebuild(library, user) -> None:
    st.markdown("Every document is read and embedded again; this takes several minutes. "
                "Questions are answered from the current index meanwhile.")
    if not ui.confirmed("library_rebuilding", "Rebuild", ":material/sync:"):
        return
    try:
        report = reviewed.rebuild(library, resources.access().reviews, user, _progress_bar())
    except (LibraryMismatch, IngestBusy, DiskFull, Refused) as exc:
        st.error(ui.inline(exc))
        report = None
    if report is not None:
        st.session_state["library_outcomes"] = [
            _row(Path(o.path).name, o.outcome, o.doc_id, o.chunks, o.reason)
            for o in report.outcomes]
        st.session_state["library_flash"] = (
            f"Rebuilt the index: {len(report.outcomes) - len(report.failed)} document(s), "
            f"{report.chunks_embedded} chunks.")
        st.rerun()


main()
