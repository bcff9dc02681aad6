"""The access tables, beside the deal sessions in the same database.

`user_roles`: roles an admin granted (`hrdd users grant`), added to those the identity
provider's groups give. `shared_audit`: every change to shared state and every refusal: who,
when, what, and whether it was allowed. `document_reviews`: every upload with who added it
and when, its bytes while it waits for review, and who approved or rejected it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class AccessBase(DeclarativeBase):
    pass


class RoleRow(AccessBase):
    __tablename__ = "user_roles"

    user_id: Mapped[str] = mapped_column(String(320), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    granted_by: Mapped[str] = mapped_column(String(400))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditRow(AccessBase):
    __tablename__ = "shared_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    who: Mapped[str] = mapped_column(String(400))
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(String(400), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)


class ReviewRow(AccessBase):
    __tablename__ = "document_reviews"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    file_name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    doc_id: Mapped[str] = mapped_column(String(300), index=True)
    title: Mapped[str] = mapped_column(String(400))
    added_by_id: Mapped[str] = mapped_column(String(320), index=True)
    added_by: Mapped[str] = mapped_column(String(400))  # "Name <id>", as the audit names them
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending/approved/rejected
    reviewed_by_id: Mapped[str | None] = mapped_column(String(320), nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(400), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
