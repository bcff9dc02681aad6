"""Server mode: with HRDD_CHROMA_URL set, the whole library lives in a real Chroma server."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from assistant.composition import Library, build_assistant
from assistant.settings import Settings
from tests.chroma_server import chroma_url  # noqa: F401 - the fixture
from tests.cli import hrdd, succeeded
from tests.conftest import CORPUS

pytestmark = [pytest.mark.server, pytest.mark.slow]

FILES = [CORPUS / "guidance" / "shutdowns-content-restriction.md",
         CORPUS / "guidance" / "lawful-interception-model.md",
         CORPUS / "case-studies" / "case-election-shutdown.md"]


@pytest.fixture
def server_env(chroma_url, tmp_path):  # noqa: F811 - pytest passes the fixture by name
    """HRDD_* variables for one test: the server, its own collection, a local data dir."""
    return {"HRDD_CHROMA_URL": chroma_url, "HRDD_DATA_DIR": str(tmp_path / "data"),
            "HRDD_COLLECTION": f"t{uuid.uuid4().hex[:10]}"}


def test_ingest_ask_list_and_remove_all_go_to_the_server(server_env, tmp_path, embedder):
    ingested = succeeded(hrdd(["ingest", "--json", *FILES], None, tmp_path, env=server_env))
    outcomes = [json.loads(line) for line in ingested.stdout.splitlines() if line.strip()]
    assert [o["outcome"] for o in outcomes] == ["added"] * 3

    settings = Settings(_env_file=None, data_dir=Path(server_env["HRDD_DATA_DIR"]),
                        chroma_url=server_env["HRDD_CHROMA_URL"],
                        collection=server_env["HRDD_COLLECTION"])
    assistant = build_assistant(settings, Library(settings, embedder=embedder)).warm_up()
    answer = assistant.answer("What should an operator do when a government orders a network "
                              "shutdown before an election?")
    assert not answer.declined
    cited = {c.doc_id for c in answer.citations}
    assert cited & {"shutdowns-content-restriction", "case-election-shutdown"}, cited

    listed = json.loads(succeeded(hrdd(["library", "list", "--json"], None, tmp_path, env=server_env)).stdout)
    assert {d["doc_id"] for d in listed} == {"shutdowns-content-restriction",
                                             "lawful-interception-model", "case-election-shutdown"}

    removed = succeeded(hrdd(["library", "remove", "lawful-interception-model"], None, tmp_path,
                             env=server_env))
    assert "Removed lawful-interception-model" in removed.stdout
    listed = json.loads(succeeded(hrdd(["library", "list", "--json"], None, tmp_path, env=server_env)).stdout)
    assert "lawful-interception-model" not in {d["doc_id"] for d in listed}
    # A client that connects afresh sees the chunks gone too: the server holds the state.
    store = Library(settings).store
    assert store.chunks.get(where={"doc_id": "lawful-interception-model"}, include=[])["ids"] == []
    assert store.chunk_count() > 0

    data_dir = Path(server_env["HRDD_DATA_DIR"])
    assert not (data_dir / "chroma").exists()
    assert not list(data_dir.rglob("chroma.sqlite3"))

