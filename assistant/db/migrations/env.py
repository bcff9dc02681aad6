"""Alembic's entry: runs the revisions on the connection `assistant.db` hands over.

Only online runs through `assistant.db.upgrade` (which holds the upgrade lock and the
transaction); the `alembic` command line is not set up for this project.
"""

from __future__ import annotations

from alembic import context

from assistant.db.tables import METADATA

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the migrations with `hrdd db upgrade`")
# render_as_batch: SQLite alters a table by copying it; autogenerate then writes batch ops
context.configure(connection=connection, target_metadata=list(METADATA), render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
