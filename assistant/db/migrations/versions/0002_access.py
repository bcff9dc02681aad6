"""Sign-in and roles: who owns a deal or a conversation, roles, the shared audit log and
document review.

`sessions.owner` and `sessions.shared_with` (a deal is private to its assessor, the people
they share it with and the approvers), `conversations.owner` (a conversation is its owner's
alone); `user_roles` (roles an admin granted), `shared_audit` (every change to shared state
and every refusal), `document_reviews` (uploads waiting for review, and the provenance of
approved ones). Rows from before have no owner: admins and approvers see those deals.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())
    columns = {t: {c["name"] for c in inspector.get_columns(t)} for t in
               ("sessions", "conversations")}
    if "owner" not in columns["sessions"]:
        op.add_column("sessions", sa.Column("owner", sa.String(length=320), nullable=True))
        op.create_index("ix_sessions_owner", "sessions", ["owner"])
    if "shared_with" not in columns["sessions"]:
        op.add_column("sessions", sa.Column("shared_with", sa.JSON(), nullable=True))
    if "owner" not in columns["conversations"]:
        op.add_column("conversations", sa.Column("owner", sa.String(length=320),
                                                 nullable=True))
        op.create_index("ix_conversations_owner", "conversations", ["owner"])
    for name, create in (("user_roles", _user_roles), ("shared_audit", _shared_audit),
                         ("document_reviews", _document_reviews)):
        if name not in tables:
            create()


def downgrade() -> None:
    raise NotImplementedError("no downgrades: restore the backup taken before the upgrade")


def _user_roles() -> None:
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("granted_by", sa.String(length=400), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "role"))


def _shared_audit() -> None:
    op.create_table(
        "shared_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("who", sa.String(length=400), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=400), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"))
    op.create_index("ix_shared_audit_at", "shared_audit", ["at"])
    op.create_index("ix_shared_audit_action", "shared_audit", ["action"])


def _document_reviews() -> None:
    op.create_table(
        "document_reviews",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("doc_id", sa.String(length=300), nullable=False),
        sa.Column("title", sa.String(length=400), nullable=False),
        sa.Column("added_by_id", sa.String(length=320), nullable=False),
        sa.Column("added_by", sa.String(length=400), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reviewed_by_id", sa.String(length=320), nullable=True),
        sa.Column("reviewed_by", sa.String(length=400), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"))
    for column in ("sha256", "doc_id", "added_by_id", "status"):
        op.create_index(f"ix_document_reviews_{column}", "document_reviews", [column])
