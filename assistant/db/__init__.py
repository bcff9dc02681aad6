"""The app's database: every table in one schema, changed only through Alembic migrations.

`open_database(url)` is how each record keeper (deal sessions, conversations, ...) gets its
engine, and it checks the schema's revision first:

- a SQLite database (the single-person default, `<data dir>/sessions.sqlite`) is brought up
  to date on the spot, so a one-person install needs no step;
- any other database (PostgreSQL, shared by a company's app processes) must already be at
  this app's revision, else `SchemaBehind` says to run `hrdd db upgrade`: an upgrade is a
  deliberate step, after a backup, not something the first replica to start does alone.

A database that an earlier version made with `create_all` (its tables, no `alembic_version`)
is adopted by the baseline revision 0001, which creates only the tables missing and keeps
every row. Two upgrades at once wait for each other (an advisory lock on PostgreSQL, a file
lock beside a SQLite file). There are no downgrades: restore the backup instead.
"""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
UPGRADE_LOCK = 0x6872646464622D75  # the PostgreSQL advisory lock key of `hrdd db upgrade`
# the tables of revision 0001: found without a revision, they were made before migrations
BASELINE_TABLES = frozenset({"sessions", "audit_trail", "conversations", "conversation_turns",
                             "feedback"})


class SchemaBehind(RuntimeError):
    """The database's schema is not the revision this app needs."""


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands against this app's migrations."""

    database: str  # the URL with its password hidden
    current: str | None  # the recorded revision; None before the first upgrade
    head: str  # the revision this app needs
    known: bool  # the current revision is one of this app's (not from a newer version)
    legacy_tables: tuple[str, ...]  # tables there without a revision (made before migrations)

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        if self.up_to_date:
            return f"The database {self.database} is at revision {self.head}, up to date."
        if not self.known:
            return (f"The database {self.database} is at revision {self.current}, which this "
                    f"version of HRDD Assistant does not know (it needs {self.head}): a newer "
                    "version upgraded it. Run that version, or restore the backup taken "
                    "before its upgrade.")
        if self.current is None and self.legacy_tables:
            where = (f"holds tables from before migrations ({', '.join(self.legacy_tables)}) "
                     "and no schema revision")
        elif self.current is None:
            where = "has no tables yet"
        else:
            where = f"is at revision {self.current}"
        return (f"The database {self.database} {where}; this version of HRDD Assistant needs "
                f"revision {self.head}. Run `hrdd db upgrade` once, with the same "
                "HRDD_DATABASE_URL, then start again (it keeps every row; take a backup "
                "first, see docs/deployment.md).")


def open_database(url: str) -> Engine:
    """An engine on `url` whose schema is this app's; a SQLite database is upgraded first.

    Raises `SchemaBehind` (naming `hrdd db upgrade`) when another database is not up to date.
    """
    engine = new_engine(url)
    try:
        found = status(engine)
        if not found.up_to_date and found.known and _is_sqlite(engine):
            found = upgrade(engine)[1]
        if not found.up_to_date:
            raise SchemaBehind(found.describe())
    except BaseException:
        engine.dispose()
        raise
    return engine


def status(engine: Engine) -> SchemaStatus:
    """The database's revision, this app's head, and any tables made before migrations."""
    with engine.connect() as conn:
        return status_on(conn, engine)


def upgrade(engine: Engine) -> tuple[SchemaStatus, SchemaStatus]:
    """Bring the schema to this app's head under the upgrade lock: (before, after)."""
    from alembic import command

    with _sqlite_file_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # released when this transaction ends
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": UPGRADE_LOCK})
        before = status_on(conn, engine)
        if not before.known:
            raise SchemaBehind(before.describe())
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return before, status(engine)


def status_on(conn, engine: Engine) -> SchemaStatus:
    """`status` read through an open connection (inside the upgrade's transaction)."""
    from alembic.migration import MigrationContext

    current = MigrationContext.configure(conn).get_current_revision()
    tables = set(inspect(conn).get_table_names()) if current is None else set()
    return SchemaStatus(_shown(engine), current, head(), current is None or
                        current in _revisions(), tuple(sorted(tables & BASELINE_TABLES)))


@lru_cache(maxsize=1)
def head() -> str:
    """The revision this version of the app needs."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@lru_cache(maxsize=1)
def _revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    return frozenset(s.revision for s in scripts.walk_revisions())


def alembic_config():
    """Alembic's configuration for the migrations here; env.py takes the connection from
    `config.attributes["connection"]`."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _shown(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


@contextmanager
def _sqlite_file_lock(engine: Engine):
    """Two processes opening a new SQLite file at once (the app and a CLI command) take
    turns, so the second finds the tables made instead of creating them again."""
    database = engine.url.database if _is_sqlite(engine) else None
    if database in (None, "", ":memory:"):
        yield
        return
    with open(f"{database}.upgrade-lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def new_engine(url: str) -> Engine:
    """An engine on `url`, unchecked (`hrdd db` reads and upgrades through it); a SQLite
    file's folder is created first."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url)
