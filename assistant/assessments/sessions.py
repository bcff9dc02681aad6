"""Where assessment sessions are kept: any SQLAlchemy database, SQLite by default.

Two tables. `sessions` holds one row per session with its state (answers, overrides,
mitigations, guidance) as JSON and the playbook text in force, so a resumed session reads
the playbook it started with. `audit_trail` holds one row per change: who, when (UTC), the
field, old and new values, the reason, and the library and app versions in force. Each
`save` is one transaction, so an answer saved is never lost by a later crash. A session
that senior management approved or rejected takes no further change: `save` refuses it
and writes nothing, and a sign-off is saved only under the approver's own name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text, create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from assistant.assessments.assessment import Assessment
from assistant.assessments.changes import Change, diff_assessments
from assistant.assessments.persisted import exported, restore_assessment
from assistant.assessments.playbook import parse_playbook
from assistant.assessments.signoff import SignOff, Verdict, sign_off, signoff_status
from assistant.settings import Settings, app_version


class _Base(DeclarativeBase):
    pass


class _SessionRow(_Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    playbook_id: Mapped[str] = mapped_column(String(100))
    playbook_version: Mapped[str] = mapped_column(String(40))
    playbook_text: Mapped[str] = mapped_column(Text)
    deal: Mapped[str] = mapped_column(String(200))
    assessor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[dict] = mapped_column(JSON)
    owner: Mapped[str | None] = mapped_column(String(320), nullable=True, index=True)
    shared_with: Mapped[list | None] = mapped_column(JSON, nullable=True)


class _AuditRow(_Base):
    __tablename__ = "audit_trail"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    who: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    field: Mapped[str] = mapped_column(String(200))
    old: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    new: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    library_version: Mapped[str] = mapped_column(String(100))
    app_version: Mapped[str] = mapped_column(String(100))


@dataclass(frozen=True)
class SessionSummary:
    """A line of the session list."""

    id: str
    deal: str
    assessor: str
    playbook_id: str
    created: datetime
    updated: datetime
    outcome: str | None
    signoff: str | None = None  # awaiting, approve, reject or more-information
    review_by: date | None = None  # an approved deal's review date
    previous_id: str | None = None  # the session this one re-assesses
    owner: str | None = None  # the signed-in user id of who started it (None: no sign-in)
    shared_with: tuple[str, ...] = ()  # user ids who may open it too


@dataclass(frozen=True)
class AuditEntry:
    """One change to a session, as the audit trail keeps it."""

    who: str
    at: datetime
    field: str
    old: Any
    new: Any
    reason: str
    library_version: str
    app_version: str

    def to_dict(self) -> dict:
        return {"who": self.who, "at": self.at.isoformat(), "field": self.field,
                "old": self.old, "new": self.new, "reason": self.reason,
                "library_version": self.library_version, "app_version": self.app_version}


class SessionRecords:
    """Create, save, resume, list and export assessment sessions in one database."""

    def __init__(self, url: str, *, app_version: str, library_version: str):
        _create_sqlite_folder(url)
        self.engine = create_engine(url)
        self.app_version = app_version
        self.library_version = library_version
        _Base.metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def create(self, assessment: Assessment, who: str, owner: str | None = None) -> None:
        """Store a new session and its first audit entry; `owner` is the signed-in user id
        of who started it (the deal is private to them, the approvers and who they share
        it with)."""
        with Session(self.engine) as db, db.begin():
            if db.get(_SessionRow, assessment.id) is not None:
                raise ValueError(f"session {assessment.id} already exists")
            now = datetime.now(UTC)
            db.add(_SessionRow(
                id=assessment.id, playbook_id=assessment.playbook.id,
                playbook_version=assessment.playbook.version,
                playbook_text=assessment.playbook.text, deal=assessment.deal,
                assessor=assessment.assessor, created_at=assessment.created, updated_at=now,
                outcome=_outcome(assessment), state=assessment.state(), owner=owner,
                shared_with=[]))
            db.flush()  # the session row must exist before its audit rows refer to it
            self._audit(db, assessment.id, who, now, diff_assessments(None, assessment))

    def save(self, assessment: Assessment, who: str) -> tuple[Change, ...]:
        """Store the session's new state and an audit entry for each change; return them."""
        with Session(self.engine) as db, db.begin():
            row = self._row(db, assessment.id)
            stored = self._restore(row)
            changes = diff_assessments(stored, assessment)
            if not changes:
                return ()
            _check_signoffs(stored, assessment, changes, who)
            now = datetime.now(UTC)
            row.state, row.deal, row.assessor = assessment.state(), assessment.deal, \
                assessment.assessor
            row.outcome, row.updated_at = _outcome(assessment), now
            self._audit(db, assessment.id, who, now, changes)
            return changes

    def sign_off(self, session_id: str, verdict: Verdict | str, approver: str, rationale: str,
                 **details) -> Assessment:
        """Record senior management's decision on an escalated session, under the approver's
        name (see `assistant.assessments.signoff.sign_off` for `details` and the checks)."""
        signed = sign_off(self.load(session_id), verdict, approver, rationale, **details)
        self.save(signed, approver)
        return signed

    def load(self, session_id: str) -> Assessment:
        """Resume a session as it was last saved, with the playbook it started with."""
        with Session(self.engine) as db:
            return self._restore(self._row(db, session_id))

    def list(self) -> tuple[SessionSummary, ...]:
        """Every session, the most recently changed first."""
        with Session(self.engine) as db:
            rows = db.scalars(select(_SessionRow).order_by(_SessionRow.updated_at.desc()))
            return tuple(_summary(r) for r in rows)

    def summary(self, session_id: str) -> SessionSummary:
        with Session(self.engine) as db:
            return _summary(self._row(db, session_id))

    def share(self, session_id: str, user_ids: list[str], who: str) -> None:
        """Let these users (sign-in e-mail addresses) open the session; audited."""
        ids = sorted({u.strip().lower() for u in user_ids if u.strip()})
        with Session(self.engine) as db, db.begin():
            row = self._row(db, session_id)
            old = list(row.shared_with or [])
            if old == ids:
                return
            row.shared_with = ids
            self._audit(db, session_id, who, datetime.now(UTC),
                        (Change("shared_with", old, ids, ""),))

    def audit_trail(self, session_id: str) -> tuple[AuditEntry, ...]:
        """The session's changes, oldest first."""
        with Session(self.engine) as db:
            self._row(db, session_id)
            rows = db.scalars(select(_AuditRow).where(_AuditRow.session_id == session_id)
                              .order_by(_AuditRow.id))
            return tuple(AuditEntry(r.who, _utc(r.at), r.field, r.old, r.new, r.reason,
                                    r.library_version, r.app_version) for r in rows)

    def export(self, session_id: str) -> dict:
        """The session with its ratings, decision and audit trail, as JSON-ready data."""
        return {"session": exported(self.load(session_id)),
                "audit_trail": [e.to_dict() for e in self.audit_trail(session_id)]}

    def export_json(self, session_id: str) -> str:
        return json.dumps(self.export(session_id), indent=2, ensure_ascii=False)

    def _row(self, db: Session, session_id: str) -> _SessionRow:
        row = db.get(_SessionRow, session_id)
        if row is None:
            raise KeyError(f"no assessment session with id {session_id!r}")
        return row

    def _restore(self, row: _SessionRow) -> Assessment:
        playbook = parse_playbook(row.playbook_text, f"the playbook stored with session {row.id}")
        return restore_assessment(playbook, row.state)

    def _audit(self, db: Session, session_id: str, who: str, at: datetime,
               changes: tuple[Change, ...]) -> None:
        if not who or not who.strip():
            raise ValueError("the audit trail needs the name of who made the change")
        db.add_all(_AuditRow(session_id=session_id, who=who.strip(), at=at, field=c.field,
                             old=c.old, new=c.new, reason=c.reason,
                             library_version=self.library_version,
                             app_version=self.app_version) for c in changes)


def open_records(settings: Settings, library_version: str = "unknown") -> SessionRecords:
    """The session records of the settings' database, tagged with this app's version."""
    return SessionRecords(settings.sessions_url, app_version=app_version(),
                          library_version=library_version)


def _check_signoffs(stored: Assessment, new: Assessment, changes: tuple[Change, ...],
                    who: str) -> None:
    """A closed session changes no more; sign-offs are only added, each by its approver."""
    closed = stored.closed_by
    if closed is not None:
        raise ValueError(f"{changes[0].field}: session {stored.id} was closed when "
                         f"{closed.approver} decided '{closed.verdict}'; nothing was saved")
    if new.signoffs[:len(stored.signoffs)] != stored.signoffs:
        raise ValueError(f"signoff: session {stored.id}'s recorded decisions cannot be "
                         "changed or removed; nothing was saved")
    for signoff in new.signoffs[len(stored.signoffs):]:
        if signoff.approver != who.strip():
            raise ValueError(f"signoff: the decision of {signoff.approver} must be saved "
                             f"under their name, not {who.strip()!r}; nothing was saved")


def _summary(row: _SessionRow) -> SessionSummary:
    signoffs = [SignOff.from_dict(s) for s in row.state.get("signoffs") or ()]
    approved = next((s for s in reversed(signoffs) if s.verdict is Verdict.APPROVE), None)
    status = signoff_status(row.outcome, signoffs)
    previous = row.state.get("previous") or {}
    return SessionSummary(row.id, row.deal, row.assessor, row.playbook_id, _utc(row.created_at),
                          _utc(row.updated_at), row.outcome, status,
                          approved.review_by if approved else None, previous.get("session_id"),
                          row.owner, tuple(row.shared_with or ()))


def _outcome(assessment: Assessment) -> str | None:
    decision = assessment.decision()
    return None if decision is None else str(decision.outcome)


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every moment stored here was UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _create_sqlite_folder(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
