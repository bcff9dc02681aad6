"""A shared install backed up with deploy/backup.sh (pg_dump and the Chroma folder), wiped, and
restored with deploy/restore.sh gives the same answer and the same deal session back: the
commands of docs/deployment.md, run against a real Chroma server and a real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess

import psycopg
import pytest

from assistant.assessments.assessment import start_assessment
from assistant.assessments.playbook import find_playbook
from assistant.assessments.sessions import SessionRecords
from assistant.composition import Library, build_assistant
from assistant.settings import Settings
from ingest.pipeline import ingest
from tests.chroma_server import start_chroma
from tests.cli import hrdd, succeeded
from tests.postgres_server import _binaries, create_database, postgres_url  # noqa: F401
from tests.processes import free_port, stop
from tests.samples import DATA_REQUEST_GUIDE

pytestmark = [pytest.mark.slow, pytest.mark.server]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUESTION = "What must a government request for user data come with?"


def run_script(name: str, *args, database: str) -> None:
    env = {**os.environ, "HRDD_DATABASE_URL": database,
           "PATH": f"{_binaries()}{os.pathsep}{os.environ['PATH']}"}  # the server's own pg_dump
    done = subprocess.run(["bash", os.path.join(ROOT, "deploy", name), *map(str, args)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def answer_and_session(settings: Settings, embedder, session_id: str):
    """What a user sees: the answer with its sources, and the deal session's export."""
    answer = build_assistant(settings, Library(settings, embedder=embedder)).answer(QUESTION)
    records = SessionRecords(settings.database_url, app_version="t", library_version="l")
    try:
        return (answer.text, [(c.doc_id, c.location, c.passage) for c in answer.citations],
                records.export(session_id))
    finally:
        records.close()


def recreate_database(database: str) -> None:
    server, name = database.replace("+psycopg", "").rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def test_a_restored_backup_gives_the_same_answer_and_the_same_deal_session(
        tmp_path, postgres_url, embedder):  # noqa: F811
    chroma_data, backup, port = tmp_path / "chroma", tmp_path / "backup", free_port()
    database = create_database(postgres_url)
    settings = Settings(_env_file=None, data_dir=tmp_path / "app", collection="backup",
                        chroma_url=f"http://127.0.0.1:{port}", database_url=database)
    chroma = start_chroma(chroma_data, port, tmp_path / "chroma.log")
    try:
        docs = tmp_path / "docs"
        docs.mkdir()
        (docs / "guide.md").write_text(DATA_REQUEST_GUIDE, encoding="utf-8")
        assert not ingest(Library(settings, embedder=embedder), [docs]).failed
        records = SessionRecords(database, app_version="t", library_version="l")
        deal = start_assessment(find_playbook("export-deal"), "Core upgrade", "Robin Tester")
        records.create(deal, "Robin Tester")
        records.save(deal.answer("ownership", "state-owned"), "Robin Tester")
        records.close()
        before = answer_and_session(settings, embedder, deal.id)
        assert any(doc == "data-request-guide" for doc, _, _ in before[1]), before

        stop(chroma)  # the folder is copied while Chroma is stopped
        run_script("backup.sh", chroma_data, backup, database=database)
        chroma = start_chroma(chroma_data, port, tmp_path / "chroma.log")
        stop(chroma)  # the disaster: everything but the backup is gone
        shutil.rmtree(chroma_data)
        shutil.rmtree(settings.data_dir)
        recreate_database(database)

        run_script("restore.sh", backup, chroma_data, database=database)
        chroma = start_chroma(chroma_data, port, tmp_path / "chroma.log")
        current = hrdd(["db", "current"], settings.data_dir, tmp_path,
                       env={"HRDD_DATABASE_URL": database})
        assert "up to date" in succeeded(current).output
        after = answer_and_session(settings, embedder, deal.id)
    finally:
        stop(chroma)

    assert after == before
    assert after[2]["session"]["answers"]["ownership"] == "state-owned"
