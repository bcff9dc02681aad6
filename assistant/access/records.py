"""Roles granted by an admin, and the shared audit log, in the app's database."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from assistant.access.identity import User
from assistant.access.roles import Role, parse_role
from assistant.access.tables import AuditRow, RoleRow
from assistant.assessments.sessions import _utc
from assistant.db import open_database

AUDIT_FIELDS = ("at", "who", "action", "target", "detail", "allowed")


@dataclass(frozen=True)
class AuditEvent:
    at: datetime
    who: str
    action: str
    target: str
    detail: str
    allowed: bool

    def to_dict(self) -> dict:
        return {"at": self.at.isoformat(), "who": self.who, "action": self.action,
                "target": self.target, "detail": self.detail, "allowed": self.allowed}


@dataclass(frozen=True)
class Grant:
    user_id: str
    role: Role
    granted_by: str
    granted_at: datetime


class AccessRecords:
    """Granted roles and the audit of shared changes, in one SQLAlchemy database."""

    def __init__(self, url: str):
        self.engine = open_database(url)  # SchemaBehind if the schema is not up to date

    def close(self) -> None:
        self.engine.dispose()

    @cached_property
    def reviews(self):
        """The uploads waiting for review and the provenance of approved ones (same database)."""
        from assistant.access.reviews import DocumentReviews  # it builds on these records

        return DocumentReviews(self)

    # roles -------------------------------------------------------------------------------
    def grant(self, user_id: str, role: Role | str, by: User | str) -> None:
        role, user_id = parse_role(str(role)), _checked_id(user_id)
        with Session(self.engine) as db, db.begin():
            if db.get(RoleRow, (user_id, role.value)) is None:
                db.add(RoleRow(user_id=user_id, role=role.value, granted_by=_who(by),
                               granted_at=datetime.now(UTC)))
        self.record(by, "role-grant", user_id, role.value)

    def revoke(self, user_id: str, role: Role | str, by: User | str) -> bool:
        role, user_id = parse_role(str(role)), _checked_id(user_id)
        with Session(self.engine) as db, db.begin():
            gone = db.execute(delete(RoleRow).where(RoleRow.user_id == user_id,
                                                    RoleRow.role == role.value)).rowcount
        self.record(by, "role-revoke", user_id, role.value)
        return bool(gone)

    def roles_of(self, user_id: str) -> frozenset[Role]:
        with Session(self.engine) as db:
            rows = db.scalars(select(RoleRow.role).where(RoleRow.user_id == user_id.lower()))
            return frozenset(Role(r) for r in rows)

    def grants(self) -> tuple[Grant, ...]:
        with Session(self.engine) as db:
            rows = db.scalars(select(RoleRow).order_by(RoleRow.user_id, RoleRow.role))
            return tuple(Grant(r.user_id, Role(r.role), r.granted_by, _utc(r.granted_at))
                         for r in rows)

    def has_admin(self) -> bool:
        with Session(self.engine) as db:
            return db.scalar(select(RoleRow.user_id).where(RoleRow.role == Role.ADMIN.value)
                             .limit(1)) is not None

    # audit -------------------------------------------------------------------------------
    def record(self, who: User | str, action: str, target: str = "", detail: str = "",
               allowed: bool = True) -> None:
        """One line of the shared audit log, in its own transaction."""
        with Session(self.engine) as db, db.begin():
            db.add(AuditRow(at=datetime.now(UTC), who=_who(who)[:400], action=action[:40],
                            target=target[:400], detail=detail, allowed=allowed))

    def events(self, limit: int | None = None, action: str | None = None
               ) -> tuple[AuditEvent, ...]:
        """The audit log, the newest first."""
        query = select(AuditRow).order_by(AuditRow.id.desc())
        if action:
            query = query.where(AuditRow.action == action)
        if limit:
            query = query.limit(limit)
        with Session(self.engine) as db:
            return tuple(AuditEvent(_utc(r.at), r.who, r.action, r.target, r.detail, r.allowed)
                         for r in db.scalars(query))

    def events_csv(self, events: tuple[AuditEvent, ...] | None = None) -> str:
        """The audit log as CSV: `events` (as `events()` read them), else all of it."""
        out = io.StringIO()
        writer = csv.DictWriter(out, AUDIT_FIELDS)
        writer.writeheader()
        writer.writerows(e.to_dict() for e in (self.events() if events is None else events))
        return out.getvalue()


def _who(who: User | str) -> str:
    return who.label if isinstance(who, User) else str(who)


def _checked_id(user_id: str) -> str:
    user_id = (user_id or "").strip().lower()
    if not user_id or len(user_id) > 320 or any(c.isspace() for c in user_id):
        raise ValueError("user: give the person's sign-in e-mail address (or subject id), "
                         "without spaces")
    return user_id
