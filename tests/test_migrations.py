"""The database schema changes only through migrations: `hrdd db upgrade` and `hrdd db current`,
a SQLite file upgraded by itself, a shared PostgreSQL refused until upgraded, and a database
from before migrations adopted with its rows (SQLite and a real PostgreSQL server)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, inspect, text

from assistant import db
from assistant.assessments.assessment import start_assessment
from assistant.assessments.playbook import find_playbook
from assistant.assessments.sessions import SessionRecords
from assistant.conversations import ConversationRecords
from assistant.db.tables import METADATA
from tests.cli import hrdd
from tests.postgres_server import create_database, postgres_url  # noqa: F401
from tests.processes import free_port

TODAY = ("audit_trail", "conversation_turns", "conversations", "feedback", "sessions",
         "user_roles", "shared_audit", "document_reviews")  # 0001's, then 0002's


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.server)])
def empty_db(request, tmp_path):
    """A database with no tables: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'sessions.sqlite'}"
    return create_database(request.getfixturevalue("postgres_url"), schema=False)


@pytest.fixture
def empty_pg(postgres_url):  # noqa: F811 - the fixture imported above
    return create_database(postgres_url, schema=False)


def env(url: str) -> dict:
    return {"HRDD_DATABASE_URL": url}


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def legacy_database(url: str, drop: tuple[str, ...] = ()) -> None:
    """The database as versions before migrations left it: the baseline's tables from
    `create_all`, no `alembic_version` (`drop`: tables that version did not have yet)."""
    engine = db.new_engine(url)
    try:
        with engine.begin() as conn:
            config = db.alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
            for name in ("alembic_version", *drop):
                conn.execute(text(f"DROP TABLE {name}"))
    finally:
        engine.dispose()


def store_old_session(url: str):
    """A deal session and a feedback vote written the way the old version wrote them."""
    deal = start_assessment(find_playbook("export-deal"), "Core upgrade", "Robin Tester") \
        .answer("ownership", "state-owned")
    engine = create_engine(url)
    old = MetaData()
    old.reflect(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(old.tables["sessions"].insert().values(
            id=deal.id, playbook_id=deal.playbook.id, playbook_version=deal.playbook.version,
            playbook_text=deal.playbook.text, deal=deal.deal, assessor=deal.assessor,
            created_at=deal.created, updated_at=now, outcome=None, state=deal.state()))
        conn.execute(old.tables["audit_trail"].insert().values(
            session_id=deal.id, who="Robin Tester", at=now, field="ownership", old=None,
            new="state-owned", reason="", library_version="old", app_version="0.1"))
        if "feedback" in old.tables:
            conn.execute(old.tables["feedback"].insert().values(
                turn_id="t1", at=now, rating="down", comment="too vague", record={"q": "?"}))
    engine.dispose()
    return deal


def test_a_new_sqlite_file_needs_no_step(tmp_path):
    url = f"sqlite:///{tmp_path / 'data' / 'sessions.sqlite'}"
    records = SessionRecords(url, app_version="t", library_version="l")
    deal = start_assessment(find_playbook("export-deal"), "Core upgrade", "Robin Tester")
    records.create(deal, "Robin Tester")
    records.close()

    assert tables(url) == {*TODAY, "alembic_version"}
    result = hrdd(["db", "current"], tmp_path / "data", tmp_path)
    assert result.exit_code == 0, result.output
    assert f"is at revision {db.head()}, up to date" in result.output


def test_a_new_postgresql_database_is_refused_until_upgraded(empty_pg, tmp_path):
    with pytest.raises(db.SchemaBehind) as behind:
        SessionRecords(empty_pg, app_version="t", library_version="l")
    assert "has no tables yet" in str(behind.value)
    assert "Run `hrdd db upgrade` once, with the same HRDD_DATABASE_URL" in str(behind.value)
    assert tables(empty_pg) == set()  # the check changed nothing

    refused = hrdd(["assess", "list"], tmp_path / "data", tmp_path, env=env(empty_pg))
    assert refused.exit_code == 2
    assert "hrdd db upgrade" in refused.output
    current = hrdd(["db", "current"], tmp_path / "data", tmp_path, env=env(empty_pg))
    assert current.exit_code == 1
    assert "has no tables yet" in current.output

    upgraded = hrdd(["db", "upgrade"], tmp_path / "data", tmp_path, env=env(empty_pg))
    assert upgraded.exit_code == 0, upgraded.output
    assert f"from an empty database to revision {db.head()}" in upgraded.output
    again = hrdd(["db", "upgrade"], tmp_path / "data", tmp_path, env=env(empty_pg))
    assert f"is already at revision {db.head()}; nothing to do" in again.output
    assert hrdd(["assess", "list"], tmp_path / "data", tmp_path,
                env=env(empty_pg)).exit_code == 0


@pytest.mark.server
def test_hrdd_up_stops_before_building_anything_when_the_schema_is_behind(empty_pg, tmp_path):
    result = hrdd(["up", "--no-app"], tmp_path / "data", tmp_path, env=env(empty_pg))

    assert result.exit_code == 2
    assert "hrdd db upgrade" in result.output
    assert not (tmp_path / "data" / "chroma").exists()


@pytest.mark.server
def test_the_web_app_shows_only_the_upgrade_message_when_the_schema_is_behind(
        empty_pg, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.test_ui_apptest import APP
    from ui.web import resources

    monkeypatch.setenv("HRDD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HRDD_DATABASE_URL", empty_pg)
    resources.settings.clear()
    try:
        at = AppTest.from_file(APP, default_timeout=60).run()
    finally:
        resources.settings.clear()

    assert not at.exception, at.exception
    assert [e.value for e in at.error] and "hrdd db upgrade" in at.error[0].value
    assert not at.chat_input  # no page ran: no question box
    assert tables(empty_pg) == set()


@pytest.mark.parametrize("drop", [(), ("conversation_turns", "conversations", "feedback")],
                         ids=["all-tables", "before-conversations"])
def test_a_sqlite_file_from_before_migrations_is_adopted_with_its_rows(tmp_path, drop):
    url = f"sqlite:///{tmp_path / 'sessions.sqlite'}"
    legacy_database(url, drop)
    deal = store_old_session(url)

    records = SessionRecords(url, app_version="t", library_version="l")
    assert records.load(deal.id).answers == deal.answers
    assert [e.new for e in records.audit_trail(deal.id)] == ["state-owned"]
    records.close()
    assert tables(url) == {*TODAY, "alembic_version"}
    conversations = ConversationRecords(url)
    assert [f["comment"] for f in conversations.feedback()] == ([] if drop else ["too vague"])
    conversations.close()


@pytest.mark.server
def test_a_postgresql_database_from_before_migrations_is_adopted_by_hrdd_db_upgrade(
        empty_pg, tmp_path):
    legacy_database(empty_pg)
    deal = store_old_session(empty_pg)

    with pytest.raises(db.SchemaBehind, match="holds tables from before migrations"):
        SessionRecords(empty_pg, app_version="t", library_version="l")
    upgraded = hrdd(["db", "upgrade"], tmp_path / "data", tmp_path, env=env(empty_pg))

    assert upgraded.exit_code == 0, upgraded.output
    assert "from tables from before migrations (adopted, rows kept)" in upgraded.output
    records = SessionRecords(empty_pg, app_version="t", library_version="l")
    assert records.load(deal.id).answers == deal.answers
    assert [e.who for e in records.audit_trail(deal.id)] == ["Robin Tester"]
    records.close()
    conversations = ConversationRecords(empty_pg)
    assert [f["comment"] for f in conversations.feedback()] == ["too vague"]
    conversations.close()


def test_the_migrations_create_exactly_the_tables_the_code_declares(empty_db):
    engine = db.new_engine(empty_db)
    try:
        db.upgrade(engine)
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), list(METADATA))
    finally:
        engine.dispose()

    assert differences == []


def test_a_database_upgraded_by_a_newer_version_is_refused_and_left_alone(empty_db, tmp_path):
    engine = db.new_engine(empty_db)
    db.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    engine.dispose()

    with pytest.raises(db.SchemaBehind, match="at revision f00d, which this version of HRDD "
                                              "Assistant does not know"):
        ConversationRecords(empty_db)
    refused = hrdd(["db", "upgrade"], tmp_path / "data", tmp_path, env=env(empty_db))
    assert refused.exit_code == 2
    assert "a newer version upgraded it" in refused.output
    engine = create_engine(empty_db)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "f00d"
    engine.dispose()


@pytest.mark.server
def test_two_upgrades_at_once_take_turns(empty_pg):
    """A second `hrdd db upgrade` (another replica's start script) waits for the first."""
    holder = create_engine(empty_pg)
    done: list = []
    with holder.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": db.UPGRADE_LOCK})
        engine = db.new_engine(empty_pg)
        worker = threading.Thread(target=lambda: done.append(db.upgrade(engine)[1]))
        worker.start()
        while worker.is_alive() and not conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                ).scalar():
            worker.join(0.1)  # until the upgrade waits on the lock
        assert tables(empty_pg) == set()  # nothing was created while it waited
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": db.UPGRADE_LOCK})
        conn.commit()
        worker.join(60)
    holder.dispose()
    engine.dispose()

    assert [s.current for s in done] == [db.head()]


def test_an_unreachable_database_is_named_without_a_traceback(tmp_path):
    url = f"postgresql+psycopg://hrdd@127.0.0.1:{free_port()}/hrdd"
    result = hrdd(["db", "current"], tmp_path / "data", tmp_path, env=env(url))

    assert result.exit_code == 2
    assert f"cannot reach the database {url}" in result.output
    assert "Traceback" not in result.output
