"""Every table the migrations manage: one entry per module that declares tables.

A module that adds tables appends its SQLAlchemy `MetaData` here and ships a revision in
`assistant/db/migrations/versions/` that creates them; tests/test_migrations.py checks that
the revisions and these declarations agree.
"""

from __future__ import annotations

from assistant import conversations
from assistant.access import tables as access
from assistant.assessments import sessions

METADATA = (
    sessions.TABLES,  # sessions, audit_trail
    conversations.TABLES,  # conversations, conversation_turns, feedback
    access.AccessBase.metadata,  # user_roles, shared_audit, document_reviews (0002)
)
