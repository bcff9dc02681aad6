"""Library: upload guidance, see what the library holds, remove a document, rebuild the index."""

from __future__ import annotations

import math
from pathlib import Path

import streamlit as st

from assistant.datadir import DiskFull
from assistant.library.store import LibraryMismatch
from assistant.settings import STARTER_CORPUS
from ingest.lock import IngestBusy
from ingest.pipeline import FileOutcome, ingest, remove
from ingest.uploads import UPLOADS, UnsafeUpload, save_upload
from ui.web import components as ui
from ui.web import resources

OUTCOME_ICONS = {"added": "🟢", "updated": "🔵", "unchanged": "⚪", "failed": "🔴",
                 "removed": "🟠"}


def main() -> None:
    ui.page_header("Library", "The guidance the assistant answers from: upload documents, "
                   "check what is indexed, remove or rebuild.", ":material/library_books:")
    flash = st.session_state.pop("library_flash", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    library = resources.library()
    _upload(library)
    docs = library.store.documents()
    _documents(docs)
    left, right = st.columns(2, gap="large")
    with left:
        _remove(library, docs)
    with right:
        _rebuild(library)


def _upload(library) -> None:
    limit = resources.settings().max_file_mb
    st.subheader("Add documents", anchor=False)
    with st.form("upload", clear_on_submit=True):
        files = st.file_uploader(
            f"PDF or Markdown files, up to {limit:g} MB each", type=["pdf", "md", "markdown"],
            accept_multiple_files=True, max_upload_size=max(1, math.ceil(limit)),
            help="A PDF needs extractable text (scanned pages are not read). Markdown may "
                 "carry YAML front matter: title, kind, topics, publisher, year.")
        submitted = st.form_submit_button("Add to library", type="primary",
                                          icon=":material/upload_file:")
    if submitted and not files:
        st.warning("Choose one or more files first.")
    elif submitted:
        rows = _ingest_uploads(library, files)
        st.session_state["library_outcomes"] = rows
    rows = st.session_state.get("library_outcomes")
    if rows:
        _outcomes(rows)


def _ingest_uploads(library, files) -> list[dict]:
    """Check and save each upload under <data_dir>/uploads, then ingest the saved ones.

    Files this submission saved are deleted again if they cannot be read, or if the ingest is
    refused (another one is running): a file left in uploads would slip in at the next rebuild.
    """
    data_dir = resources.data_dir()
    rows, saved = [], {}
    for f in files:
        try:
            upload = save_upload(data_dir, f.name, f.getvalue(), resources.settings().limits)
        except UnsafeUpload as exc:
            rows.append(_row(f.name, "failed", reason=str(exc)))
            continue
        saved[str(upload.path)] = (f.name, upload)
    if not saved:
        return rows
    report, refusal = _run_ingest(library, [Path(p) for p in saved])
    outcomes = report.outcomes if report else [
        FileOutcome(p, "failed", reason=str(refusal)) for p in saved]
    for o in outcomes:
        name, upload = saved.get(o.path, (Path(o.path).name, None))
        note = upload.note if upload and o.outcome != "failed" else ""
        rows.append(_row(name, o.outcome, o.doc_id, o.chunks, o.reason or note))
        if o.outcome == "failed" and upload and upload.created:
            upload.path.unlink(missing_ok=True)  # a file that cannot go in stays out
    return rows


def _run_ingest(library, paths: list[Path], rebuild: bool = False):
    """Ingest with a progress bar: (report, None), or (None, why) with the reason shown if the
    library is busy or the disk is full."""
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

    try:
        report = ingest(library, paths, rebuild=rebuild, progress=progress)
    except (LibraryMismatch, IngestBusy, DiskFull) as exc:
        bar.empty()
        st.error(ui.inline(exc))
        return None, str(exc)
    bar.progress(1.0, text="Done")
    return report, None


def _row(name: str, outcome: str, doc_id: str = "", chunks: int = 0, reason: str = "") -> dict:
    return {"File": name, "Outcome": f"{OUTCOME_ICONS.get(outcome, '')} {outcome}",
            "Document": doc_id, "Chunks": chunks or None, "Reason": reason}


def _outcomes(rows: list[dict]) -> None:
    failed = [r for r in rows if r["Outcome"].endswith("failed")]
    ok = len(rows) - len(failed)
    if ok:
        st.success(f"{ok} file(s) processed.", icon=":material/check_circle:")
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
    st.dataframe(
        ui.cells([{"Title": d.title, "Kind": d.kind, "Topics": ", ".join(d.topics),
          "Publisher": d.publisher, "Year": d.year, "Size": f"{d.units} {d.unit_name}",
          "Chunks": d.chunks, "Ingested (UTC)": d.ingested_at[:16].replace("T", " "),
          "File": Path(d.source).name, "ID": d.doc_id} for d in docs]),
        hide_index=True, width="stretch",
        column_config={"Year": st.column_config.NumberColumn(format="%d"),
                       "Title": st.column_config.TextColumn(width="large")})


def _remove(library, docs) -> None:
    st.subheader("Remove a document", anchor=False)
    if not docs:
        st.caption("Nothing to remove.")
        return
    titles = {d.doc_id: d.title for d in docs}
    doc_id = st.selectbox("Document", list(titles), format_func=lambda d: f"{titles[d]} ({d})",
                          index=None, placeholder="Choose a document", key="remove_doc")
    sure = st.checkbox("Yes, remove it and its chunks", key="remove_sure",
                       disabled=doc_id is None)
    if st.button("Remove document", icon=":material/delete:", disabled=not (doc_id and sure)):
        try:
            record = remove(library, doc_id)  # under the ingest lock: never mid-update
        except IngestBusy as exc:
            st.error(ui.inline(exc))
            return
        uploads = (resources.data_dir() / UPLOADS).resolve()
        note = (" The uploaded file was deleted too." if record and
                Path(record.source).resolve().parent == uploads else "")
        # the title is document text: escaped, so it cannot load an image or make a link
        st.session_state["library_flash"] = f"Removed {ui.inline(titles[doc_id])}.{note}"
        for key in ("remove_doc", "remove_sure"):
            st.session_state.pop(key, None)
        st.rerun()


def _rebuild(library) -> None:
    st.subheader("Rebuild the index", anchor=False)
    uploads = resources.data_dir() / "uploads"
    st.caption("Indexes the starter corpus and every uploaded file again, into a new index "
               "beside the current one; questions are answered from the current one until the "
               "new one is complete. Needed after changing the embedding model or the "
               "chunking; takes several minutes.")
    sure = st.checkbox("Yes, rebuild the index", key="rebuild_sure")
    if st.button("Rebuild the index", icon=":material/sync:", disabled=not sure):
        paths = [p for p in (STARTER_CORPUS, uploads) if p.is_dir()]
        report, _ = _run_ingest(library, paths, rebuild=True)
        if report is not None:
            st.session_state["library_outcomes"] = [
                _row(Path(o.path).name, o.outcome, o.doc_id, o.chunks, o.reason)
                for o in report.outcomes]
            st.session_state["library_flash"] = (
                f"Rebuilt the index: {len(report.outcomes) - len(report.failed)} document(s), "
                f"{report.chunks_embedded} chunks.")
            st.session_state.pop("rebuild_sure", None)
            st.rerun()


main()
