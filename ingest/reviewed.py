"""The library's changes as people make them: upload, review, remove, rebuild, each under
the role check and recorded in the shared audit log.

The web app's Library page and the CLI call these, so the server decides who may change the
library, whatever the page shows. With a second librarian required (`HRDD_REVIEW`), an
upload waits in `document_reviews`, unused for answers, until another librarian approves
it; otherwise it goes in at once, approved by its uploader.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from assistant.access.identity import Refused, User, refusal
from assistant.access.reviews import DocumentReviews, Review, claim_problem
from assistant.access.roles import Permission
from assistant.settings import STARTER_CORPUS
from ingest.discovery import FileOutcome
from ingest.documents import ParseError, check_size, file_hash, parse_file
from ingest.pdf import read_pdf_pages
from ingest.pipeline import IngestReport, Progress, ingest, remove
from ingest.uploads import UPLOADS, UnsafeUpload, safe_upload_path, save_upload, upload_target


@dataclass(frozen=True)
class UploadOutcome:
    """What became of one uploaded file: waiting for review, indexed, or refused (why)."""

    name: str
    outcome: str  # pending, added, updated, unchanged or failed
    doc_id: str = ""
    title: str = ""
    chunks: int = 0
    reason: str = ""


def allowed(user: User, reviews: DocumentReviews, action: str, target: str = "") -> None:
    """Raise Refused, logged, unless `user` may change the library."""
    if not user.may(Permission.CURATE):
        exc = refusal(user, Permission.CURATE)
        reviews.records.record(user, action, target, f"refused: {exc}", allowed=False)
        raise exc


def upload(library, reviews: DocumentReviews, user: User, name: str, data: bytes, *,
           second_person: bool, progress: Progress | None = None) -> UploadOutcome:
    """Check an upload and put it up for review (or in, for a one-person install)."""
    allowed(user, reviews, "upload", name)
    try:
        target = upload_target(library.settings.data_dir, name)
        parsed = _parse(library, target, data)
    except (UnsafeUpload, ParseError) as exc:
        return UploadOutcome(name, "failed", reason=str(exc))
    file_name = target.name
    problem = claim_problem(parsed.doc_id, parsed.title, file_name, _claimed(library, reviews))
    if problem:
        reviews.records.record(user, "upload", name, f"refused: {problem}", allowed=False)
        return UploadOutcome(name, "failed", parsed.doc_id, parsed.title,
                             reason=f"not added: {problem}")
    review = reviews.submit(file_name, data, parsed.doc_id, parsed.title, user, file_hash(data))
    if second_person:
        return UploadOutcome(name, "pending", parsed.doc_id, parsed.title,
                             reason="waiting for another librarian's review")
    return approve(library, reviews, user, review.id, second_person=False, progress=progress,
                   shown_name=name)


def approve(library, reviews: DocumentReviews, user: User, review_id: str, *,
            second_person: bool, progress: Progress | None = None,
            shown_name: str = "") -> UploadOutcome:
    """Approve a waiting upload and index it; if it cannot be indexed it waits again."""
    allowed(user, reviews, "approve", review_id)
    data = reviews.data(review_id)
    review = reviews.decide(review_id, True, user, second_person=second_person)
    name = shown_name or review.file_name
    saved = None
    try:
        problem = claim_problem(review.doc_id, review.title, review.file_name,
                                _claimed(library, reviews, skip=review_id))
        if problem:
            raise UnsafeUpload(f"not added: {problem}")
        saved = save_upload(library.settings.data_dir, review.file_name, data,
                            library.settings.limits)
        report = ingest(library, [saved.path], progress=progress)
        done = report.outcomes[0] if report.outcomes else FileOutcome(str(saved.path),
                                                                      "unchanged")
    except Exception as exc:  # noqa: BLE001 - a busy library or a bad file: it waits again
        done = FileOutcome(name, "failed", reason=str(exc))
    if done.outcome == "failed":
        reviews.fail(review_id, done.reason)
        if saved is not None and saved.created:
            saved.path.unlink(missing_ok=True)  # a file that cannot go in stays out
    note = saved.note if saved is not None and done.outcome != "failed" else ""
    return UploadOutcome(name, done.outcome, done.doc_id or review.doc_id, review.title,
                         done.chunks, done.reason or note)


def reject(reviews: DocumentReviews, user: User, review_id: str, note: str = "") -> Review:
    allowed(user, reviews, "reject", review_id)
    return reviews.decide(review_id, False, user, second_person=False, note=note)


def remove_document(library, reviews: DocumentReviews, user: User, doc_id: str):
    """Take a document out of the library (and out of later rebuilds)."""
    allowed(user, reviews, "remove", doc_id)
    record = remove(library, doc_id)
    if record is not None:
        reviews.removed(doc_id)
        reviews.records.record(user, "remove", f"{record.title} ({doc_id})")
    return record


def rebuild(library, reviews: DocumentReviews, user: User,
            progress: Progress | None = None) -> IngestReport:
    """Index the starter corpus and every approved upload again. Uploads approved through
    another app process are written to this one's uploads folder first."""
    allowed(user, reviews, "rebuild")
    for file_name, data in reviews.approved_files():
        target = safe_upload_path(library.settings.data_dir, file_name)
        if not (target.is_file() and target.read_bytes() == data):
            save_upload(library.settings.data_dir, file_name, data, library.settings.limits)
    uploads = library.settings.data_dir / UPLOADS
    report = ingest(library, [p for p in (STARTER_CORPUS, uploads) if p.is_dir()],
                    rebuild=True, progress=progress)
    reviews.records.record(user, "rebuild", library.settings.collection,
                           f"{len(report.outcomes) - len(report.failed)} documents, "
                           f"{report.chunks_embedded} chunks")
    return report


def _parse(library, target: Path, data: bytes):
    """The upload (to be saved as `target`) parsed as ingest would parse it, to learn its id
    and title (and to refuse a corrupt, encrypted or empty file now, not after review)."""
    check_size(len(data), library.settings.limits)
    pages = None
    if target.suffix.lower() == ".pdf":
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / target.name
            path.write_bytes(data)
            pages = read_pdf_pages(path, library.settings.limits)
    return parse_file(target, data, pages)


def _claimed(library, reviews: DocumentReviews, skip: str = ""):
    """(doc_id, title, file name) of every document indexed or waiting for review."""
    indexed = [(d.doc_id, d.title, Path(d.source).name) for d in library.store.documents()]
    waiting = [(r.doc_id, r.title, r.file_name) for r in reviews.pending() if r.id != skip]
    return indexed + waiting


__all__ = ["Refused", "UploadOutcome", "approve", "reject", "rebuild", "remove_document",
           "upload"]
