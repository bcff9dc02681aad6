"""Document review: an upload waits, unused for answers, until a librarian approves it.

Each upload is kept in the database with who added it and when; its bytes stay there while
it waits (and after approval, so every app process can index it at a rebuild). Approval by
a librarian other than the uploader is the rule once people sign in (`HRDD_REVIEW`); an
install for one person approves in the same step. A document cannot claim the id or the
title of a library document it is not: that is how a planted "UN Guiding Principles"
would pass for the real one.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, defer

from assistant.access.identity import Refused, User
from assistant.access.records import AccessRecords
from assistant.access.tables import ReviewRow
from assistant.assessments.sessions import _utc

PENDING, APPROVED, REJECTED, REMOVED = "pending", "approved", "rejected", "removed"


@dataclass(frozen=True)
class Review:
    """One upload and what became of it."""

    id: str
    file_name: str
    sha256: str
    doc_id: str
    title: str
    added_by_id: str
    added_by: str
    added_at: datetime
    status: str
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    note: str = ""

    @property
    def provenance(self) -> str:
        """"Added by X on date, approved by Y", as a citation shows it."""
        line = f"Added by {self.added_by} on {self.added_at:%Y-%m-%d}"
        if self.status == APPROVED and self.reviewed_by:
            same = self.reviewed_by == self.added_by
            line += ", no second review (one-person install)" if same else \
                f", approved by {self.reviewed_by} on {self.reviewed_at:%Y-%m-%d}"
        return line


class DocumentReviews:
    """Uploads waiting for review, and the provenance of every approved one."""

    def __init__(self, records: AccessRecords):
        self.records = records
        self.engine = records.engine

    def submit(self, file_name: str, data: bytes, doc_id: str, title: str, by: User,
               sha256: str) -> Review:
        row = ReviewRow(id=uuid.uuid4().hex, file_name=file_name, sha256=sha256, data=data,
                        doc_id=doc_id, title=title[:400], added_by_id=by.id,
                        added_by=by.label[:400], added_at=datetime.now(UTC), status=PENDING)
        with Session(self.engine) as db, db.begin():
            db.add(row)
            review = _review(row)
        self.records.record(by, "upload", f"{title} ({doc_id})",
                            f"{file_name}, waiting for review")
        return review

    def pending(self) -> tuple[Review, ...]:
        return self._where(ReviewRow.status == PENDING)

    def approved(self) -> dict[str, Review]:
        """The latest approved upload of each document id."""
        found: dict[str, Review] = {}
        for r in self._where(ReviewRow.status == APPROVED):  # oldest first: the last one wins
            found[r.doc_id] = r
        return found

    def data(self, review_id: str) -> bytes:
        with Session(self.engine) as db:
            row = db.get(ReviewRow, review_id)
            if row is None or row.data is None:
                raise KeyError(f"no upload {review_id!r} waiting for review")
            return row.data

    def decide(self, review_id: str, approve: bool, by: User, *, second_person: bool,
               note: str = "") -> Review:
        """Approve or reject a waiting upload; the uploader may not approve their own when a
        second person must (the refusal is logged, nothing changes)."""
        with Session(self.engine) as db, db.begin():
            row = db.get(ReviewRow, review_id, with_for_update=True)
            if row is None or row.status != PENDING:
                raise KeyError(f"upload {review_id!r} is not waiting for review "
                               "(another librarian may have decided it)")
            if approve and second_person and row.added_by_id == by.id:
                self.records.record(by, "approve", f"{row.title} ({row.doc_id})",
                                    "refused: the uploader cannot approve their own upload",
                                    allowed=False)
                raise Refused(f"{by.label} added {row.title!r}: another librarian must "
                              "approve it")
            row.status = APPROVED if approve else REJECTED
            row.reviewed_by_id, row.reviewed_by = by.id, by.label[:400]
            row.reviewed_at, row.note = datetime.now(UTC), note
            if not approve:
                row.data = None
            review = _review(row)
        self.records.record(by, "approve" if approve else "reject",
                            f"{review.title} ({review.doc_id})", note)
        return review

    def fail(self, review_id: str, reason: str) -> None:
        """An approved upload that ingest could not read goes back to waiting, with why."""
        with Session(self.engine) as db, db.begin():
            db.execute(update(ReviewRow).where(ReviewRow.id == review_id).values(
                status=PENDING, reviewed_by=None, reviewed_by_id=None, reviewed_at=None,
                note=f"not indexed: {reason}"[:2000]))

    def removed(self, doc_id: str) -> None:
        """A removed document's uploads stay out of later rebuilds."""
        with Session(self.engine) as db, db.begin():
            db.execute(update(ReviewRow).where(ReviewRow.doc_id == doc_id,
                                               ReviewRow.status == APPROVED)
                       .values(status=REMOVED, data=None))

    def approved_files(self) -> list[tuple[str, bytes]]:
        """(file name, bytes) of every approved upload still in the library."""
        with Session(self.engine) as db:
            rows = db.execute(select(ReviewRow.file_name, ReviewRow.data)
                              .where(ReviewRow.status == APPROVED).order_by(ReviewRow.added_at))
            return [(name, data) for name, data in rows if data is not None]

    def _where(self, condition) -> tuple[Review, ...]:
        """Matching rows without their bytes (an approved upload keeps up to HRDD_MAX_FILE_MB;
        a citation's provenance must not read them all)."""
        with Session(self.engine) as db:
            rows = db.scalars(select(ReviewRow).options(defer(ReviewRow.data)).where(condition)
                              .order_by(ReviewRow.added_at))
            return tuple(_review(r) for r in rows)


def _review(row: ReviewRow) -> Review:
    return Review(row.id, row.file_name, row.sha256, row.doc_id, row.title, row.added_by_id,
                  row.added_by, _utc(row.added_at), row.status, row.reviewed_by,
                  _utc(row.reviewed_at) if row.reviewed_at else None, row.note or "")


def title_key(title: str) -> str:
    """A title as compared for claims: case, accents, punctuation and spacing ignored."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().casefold()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def claim_problem(doc_id: str, title: str, source_name: str,
                  library: Iterable[tuple[str, str, str]]) -> str | None:
    """Why a new document may not go in under this id or title, or None.

    `library` holds (doc_id, title, source file name) of the documents indexed or waiting;
    a new version of the same upload (the same file name) may keep its own id and title.
    """
    key = title_key(title)
    for other_id, other_title, other_source in library:
        if other_source == source_name:
            continue
        if other_id == doc_id:
            return (f"its id {doc_id!r} belongs to the library document {other_title!r}; "
                    "give the file another name (or `id:` in its front matter)")
        if key and title_key(other_title) == key:
            return (f"its title {title!r} is the title of the library document {other_id!r}; "
                    "a new document needs a title of its own (to replace that document, a "
                    "librarian removes it first)")
    return None
