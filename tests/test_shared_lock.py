"""Two machines that share a Chroma server and a PostgreSQL database ingest one at a time:
the ingest lock is also a PostgreSQL advisory lock (a real server, started for the tests)."""

from __future__ import annotations

import threading

import pytest

from ingest.lock import IngestBusy, ingest_lock
from tests.chroma_server import chroma_url  # noqa: F401
from tests.postgres_server import create_database, postgres_url  # noqa: F401

pytestmark = pytest.mark.slow
LIBRARY = "http://chroma.internal:8000#hrdd"


@pytest.fixture
def database(request):
    return create_database(request.getfixturevalue("postgres_url"))


def test_an_ingest_on_another_machine_is_refused_while_one_runs(database, tmp_path):
    here, there = tmp_path / "machine-a", tmp_path / "machine-b"  # two data folders

    with ingest_lock(here, False, database, LIBRARY):
        with pytest.raises(IngestBusy) as busy:
            with ingest_lock(there, False, database, LIBRARY):
                pass
        with ingest_lock(there, False, database, "http://chroma.internal:8000#other"):
            pass  # another library is not held

    message = str(busy.value)
    assert message.startswith("Another ingest is running on this library (hrdd ingest, pid ")
    assert "--wait" in message
    with ingest_lock(there, False, database, LIBRARY):
        pass  # free again once the first ended


def test_a_queued_ingest_on_another_machine_starts_when_the_first_ends(database, tmp_path):
    order: list[str] = []
    first_holds, first_may_end = threading.Event(), threading.Event()

    def first() -> None:
        with ingest_lock(tmp_path / "a", False, database, LIBRARY):
            order.append("first starts")
            first_holds.set()
            first_may_end.wait(30)
            order.append("first ends")

    worker = threading.Thread(target=first)
    worker.start()
    first_holds.wait(30)
    threading.Timer(0.5, first_may_end.set).start()
    with ingest_lock(tmp_path / "b", True, database, LIBRARY):
        order.append("second starts")
    worker.join(30)

    assert order == ["first starts", "first ends", "second starts"]


def test_the_lock_is_freed_when_the_holder_fails(database, tmp_path):
    with pytest.raises(RuntimeError, match="disk on fire"):
        with ingest_lock(tmp_path / "a", False, database, LIBRARY):
            raise RuntimeError("disk on fire")

    with ingest_lock(tmp_path / "b", False, database, LIBRARY):
        pass


def test_ingest_through_a_shared_chroma_server_waits_for_the_other_machine(
        database, chroma_url, tmp_path, embedder):  # noqa: F811
    from assistant.composition import Library
    from assistant.settings import Settings
    from ingest.pipeline import ingest, shared_library
    from tests.samples import DATA_REQUEST_GUIDE

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text(DATA_REQUEST_GUIDE, encoding="utf-8")
    machines = [Settings(_env_file=None, data_dir=tmp_path / name, chroma_url=chroma_url,
                         database_url=database, collection="shared-lock")
                for name in ("machine-a", "machine-b")]
    assert shared_library(machines[0])[1] == shared_library(machines[1])[1]

    with ingest_lock(machines[0].data_dir, False, *shared_library(machines[0])):
        with pytest.raises(IngestBusy):  # machine B's ingest while machine A's runs
            ingest(Library(machines[1], embedder=embedder), [docs])

    report = ingest(Library(machines[1], embedder=embedder), [docs])
    assert [(o.doc_id, o.outcome) for o in report.outcomes] == [("data-request-guide", "added")]
