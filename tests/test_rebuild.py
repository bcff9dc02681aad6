"""A rebuild is built beside the library and switched to when complete: the old index answers
meanwhile, in the same process (the Library page's rebuild) and after a rebuild is killed.

The kill is real: `hrdd --rebuild` runs through tests/test_crash.py's RUNNER, pauses after its
third document is committed to the new generation, and gets SIGKILL. Chroma folders are read
by child processes only while no other process has them open.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from assistant.composition import Library, build_assistant
from ingest.pipeline import ingest
from tests.cli import hrdd_command
from tests.test_crash import WAIT_S, Lab, assert_clean, finish, kill, load, outcomes, wait_for

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
GUIDANCE = ROOT / "corpus" / "guidance"
DOCS = [GUIDANCE / n for n in ("four-ps-framework.md", "export-controls.md",
                               "meeting-venues.md", "lgbti-standards.md")]
VENUE = "How do we choose a venue for a meeting in a country with poor human rights?"
COLLECTIONS = r'''
import json, sys
import chromadb
from chromadb.config import Settings
client = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
print(json.dumps({c.name: c.count() for c in client.list_collections()}))
'''


def collections(data_dir: Path) -> dict[str, int]:
    """Every collection in the data folder and its row count, as a new process sees them."""
    run = subprocess.run([sys.executable, "-c", COLLECTIONS, str(data_dir / "chroma")],
                         capture_output=True, text=True, timeout=WAIT_S)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


def test_the_library_answers_from_the_old_index_while_a_rebuild_runs(make_settings, embedder):
    settings = make_settings()
    library = Library(settings, embedder=embedder)
    ingest(library, DOCS)
    before = {(d.doc_id, d.chunks) for d in library.store.documents()}
    old_names = {c.name for c in library.store.client.list_collections()}
    assistant = build_assistant(settings, library).warm_up()
    halfway, release, result = threading.Event(), threading.Event(), []

    def progress(stage: str, done: int, total: int, detail: str) -> None:
        if stage == "embed" and not halfway.is_set():  # one document is in the new index
            halfway.set()
            release.wait(WAIT_S)

    thread = threading.Thread(target=lambda: result.append(
        ingest(library, DOCS, rebuild=True, progress=progress)))
    thread.start()
    try:
        assert halfway.wait(WAIT_S), "the rebuild never committed a document"
        assert {(d.doc_id, d.chunks) for d in library.store.documents()} == before
        other = Library(settings, embedder=embedder)  # another session, opening it now
        assert {(d.doc_id, d.chunks) for d in other.store.documents()} == before
        answer = assistant.answer(VENUE)
        assert not answer.declined and "meeting-venues" in {c.doc_id for c in answer.citations}
    finally:
        release.set()
        thread.join(WAIT_S)
    assert [o.outcome for o in result[0].outcomes] == ["added"] * len(DOCS)
    assert {(d.doc_id, d.chunks) for d in library.store.documents()} == before
    assert "meeting-venues" in {c.doc_id for c in assistant.answer(VENUE).citations}
    names = {c.name for c in library.store.client.list_collections()}
    new = library.store.generation
    assert new and not names & old_names, "the old index was not dropped"
    assert names == {f"{settings.collection}.{new}-chunks", f"{settings.collection}.{new}-documents",
                     f"{settings.collection}-active"}


def test_a_killed_rebuild_leaves_the_previous_index_answering(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("rebuild"))
    first, _, _ = lab.start("--json")
    finish(first)
    before = collections(lab.data)
    assert set(before) == {"hrdd-chunks", "hrdd-documents"}

    proc, marks, _ = lab.start("--rebuild", "--json", at="after-commit:3")
    wait_for(marks, proc, "paused")
    kill(proc)
    env = {**os.environ, "HRDD_DATA_DIR": str(lab.data), "HRDD_LLM_PROVIDER": "none"}
    question = "What should a vendor do when a government customer uses its product against journalists?"
    asked = subprocess.run([*hrdd_command(), "ask", "--json", question], cwd=lab.root, env=env,
                           capture_output=True, text=True, timeout=WAIT_S)
    assert asked.returncode == 0, asked.stderr[-3000:]
    answer = json.loads(asked.stdout)
    assert not answer["declined"] and answer["citations"], answer
    listed = subprocess.run([*hrdd_command(), "library", "list", "--json"], cwd=lab.root, env=env,
                            capture_output=True, text=True, timeout=WAIT_S)
    assert {d["doc_id"] for d in json.loads(listed.stdout)} == set(lab.expected())
    half_built = {n: c for n, c in collections(lab.data).items() if n not in before}
    assert len(half_built) == 2 and half_built[next(n for n in half_built
                                                    if n.endswith("-documents"))] == 3

    again, _, shots = lab.start("--json", after=True)  # the next ingest drops the half-built one
    assert set(outcomes(finish(again)[0]).values()) == {"unchanged"}
    assert_clean(load(shots["after"]), lab.expected())
    assert collections(lab.data) == before

    rebuilt, _, shots = lab.start("--rebuild", "--json", after=True)
    assert set(outcomes(finish(rebuilt)[0]).values()) == {"added"}
    assert_clean(load(shots["after"]), lab.expected())
    after = collections(lab.data)
    assert "hrdd-active" in after and not set(after) & set(before), after
