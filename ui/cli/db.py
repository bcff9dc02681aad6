"""`hrdd db upgrade` and `hrdd db current`: the schema of the app's database.

The database is HRDD_DATABASE_URL, else the SQLite file in the data folder (which the app
also upgrades by itself when it opens it). Run `hrdd db upgrade` after installing a new
version and before starting its app processes; take a backup first (docs/deployment.md).
"""

from __future__ import annotations

from contextlib import contextmanager

import typer

from assistant.settings import Settings
from ui.cli.common import fail, out

app = typer.Typer(help="The app database's schema: see or apply migrations.",
                  no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Bring the database's schema up to this version of the app (keeps every row)."""
    from assistant import db

    with _engine() as engine:
        try:
            before, after = db.upgrade(engine)
        except db.SchemaBehind as exc:
            fail(str(exc))
    if before.up_to_date:
        out.print(f"{after.database} is already at revision {after.head}; nothing to do.",
                  highlight=False, soft_wrap=True, markup=False)
        return
    start = before.current or ("tables from before migrations (adopted, rows kept)"
                               if before.legacy_tables else "an empty database")
    out.print(f"Upgraded {after.database} from {start} to revision {after.current}.",
              highlight=False, soft_wrap=True, markup=False)


@app.command("current")
def current() -> None:
    """The database's schema revision and whether it is up to date (exit 1 if not)."""
    from assistant import db

    with _engine() as engine:
        found = db.status(engine)
    out.print(found.describe(), highlight=False, soft_wrap=True, markup=False)
    raise typer.Exit(0 if found.up_to_date else 1)


@contextmanager
def _engine():
    """The settings' database engine, disposed at the end; an unreachable server is an error
    naming it, not a traceback."""
    from sqlalchemy.exc import OperationalError

    from assistant import db
    from assistant.datadir import private_sessions_file

    settings = Settings()
    private_sessions_file(settings)
    engine = db.new_engine(settings.sessions_url)
    try:
        yield engine
    except OperationalError as exc:
        shown = engine.url.render_as_string(hide_password=True)
        fail(f"cannot reach the database {shown}: {str(exc.orig).strip()}")
    finally:
        engine.dispose()
