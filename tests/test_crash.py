"""Crashes: an ingest killed with SIGKILL at any moment, then run again, leaves every document
whole and once; a second ingest waits or stops; answers go on while an ingest runs in the same
process; a deal session killed mid-edit resumes at its last saved answer.

The kills are real: `hrdd ingest` runs as a subprocess and gets SIGKILL. To kill at chosen
points of the store's write protocol (pending record -> chunks -> committed record -> old
chunks deleted), the subprocess runs the CLI through RUNNER, which notes each record write in
a marks file and can pause at one of them until the test kills it (or lets it go on). RUNNER
also writes what a new process sees in the store, so this process never opens a Chroma folder
that another process has open.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from assistant.assessments.sessions import SessionRecords
from assistant.composition import Library, build_assistant
from assistant.library.embedder import TokenCounter
from assistant.settings import Settings
from ingest.chunker import chunk_document
from ingest.documents import parse_file
from ingest.pipeline import ingest
from tests.cli import hrdd_command

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
CASES = sorted((ROOT / "corpus" / "case-studies").glob("*.md"))[:8]
ESCALATION = ROOT / "examples" / "deals" / "escalation.yaml"
WAIT_S = 300  # generous: a loaded CI machine may take a minute to load the model

RUNNER = r'''
"""`hrdd` with each library record write noted in CRASH_MARKS, and an optional pause."""
import json, os, sys, time

from assistant.composition import Library
from assistant.settings import Settings
from assistant.library.store import LibraryStore

AT = os.environ.get("CRASH_AT", "")  # "before-commit:2", "after-pending:1", ...
MARKS, RELEASE = os.environ["CRASH_MARKS"], os.environ.get("CRASH_RELEASE", "")
done = {"pending": 0, "commit": 0}
write_record = LibraryStore._put_record


def mark(line):
    with open(MARKS, "a") as fh:
        fh.write(line + "\n")


def pause(where):
    mark("paused " + where)
    while not (RELEASE and os.path.exists(RELEASE)):
        time.sleep(0.05)


def put_record(self, rec):
    stage = "pending" if rec.status == "pending" else "commit"
    if AT == f"before-{stage}:{done[stage] + 1}":
        pause(f"before {stage} {rec.doc_id}")
    write_record(self, rec)
    done[stage] += 1
    mark(f"{stage} {rec.doc_id}")
    if AT == f"after-{stage}:{done[stage]}":
        pause(f"after {stage} {rec.doc_id}")


def snapshot(path):
    """Every record and chunk as this process sees them, and whether a vector query works."""
    store = Library(Settings()).store
    records = [meta for _, _, meta in store._scan(store.records, include_documents=False)]
    chunks = [{"id": cid, "doc_id": m["doc_id"], "doc_hash": m["doc_hash"],
               "ordinal": m["ordinal"], "text": text} for cid, text, m in store._scan(store.chunks)]
    hits = -1
    if chunks:
        vector = store.chunks.get(ids=[chunks[0]["id"]], include=["embeddings"])["embeddings"][0]
        hits = len(store.query(list(vector), 10))
    with open(path, "w") as fh:
        json.dump({"records": records, "chunks": chunks, "hits": hits}, fh)


LibraryStore._put_record = put_record
if os.environ.get("SNAPSHOT_BEFORE"):
    snapshot(os.environ["SNAPSHOT_BEFORE"])
from ui.cli import main

sys.argv = ["hrdd", *sys.argv[1:]]
try:
    main()
finally:
    if os.environ.get("SNAPSHOT_AFTER"):
        snapshot(os.environ["SNAPSHOT_AFTER"])
'''


class Lab:
    """A folder of documents, a data directory, and ingest subprocesses run against them."""

    def __init__(self, root: Path):
        self.root = root
        self.docs = root / "docs"
        self.docs.mkdir()
        for f in CASES:
            (self.docs / f.name).write_bytes(f.read_bytes())
        self.data = root / "data"
        self.runner = root / "runner.py"
        self.runner.write_text(RUNNER)
        self.release = root / "release"
        self.runs = 0

    def start(self, *args: str, at: str = "", before: bool = False, after: bool = False):
        """Start `hrdd ingest ARGS DOCS` through RUNNER; returns (process, marks, snapshots)."""
        self.runs += 1
        n = self.runs
        marks = self.root / f"marks-{n}"
        marks.touch()
        env = {**os.environ, "HRDD_DATA_DIR": str(self.data), "CRASH_AT": at,
               "CRASH_MARKS": str(marks), "CRASH_RELEASE": str(self.release)}
        shots = {}
        for name, wanted in (("before", before), ("after", after)):
            if wanted:
                shots[name] = self.root / f"{name}-{n}.json"
                env[f"SNAPSHOT_{name.upper()}"] = str(shots[name])
        proc = subprocess.Popen([sys.executable, str(self.runner), "ingest", *args, str(self.docs)],
                                cwd=self.root, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        return proc, marks, shots

    def expected(self) -> dict[str, set[str]]:
        """Chunk ids per document, as a clean ingest of the folder now would store them."""
        settings = Settings(_env_file=None)
        counter = TokenCounter(settings.embedding.model)
        out = {}
        for f in sorted(self.docs.glob("*.md")):
            doc = parse_file(f.resolve(), f.read_bytes())
            out[doc.doc_id] = {c.chunk_id for c in chunk_document(doc, settings.chunking, counter)}
        return out


def wait_for(marks: Path, proc, what: str, count: int = 1) -> list[str]:
    """Wait until `count` lines of the marks file start with `what`; fail if the run ends."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        lines = marks.read_text().splitlines()
        if sum(line.startswith(what) for line in lines) >= count:
            return lines
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the ingest ended before '{what}': {err[-2000:]}")
        time.sleep(0.01)
    proc.kill()
    proc.communicate()
    pytest.fail(f"no '{what}' within {WAIT_S} s")


def kill(proc) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)  # reaps it and closes its pipes
    assert proc.returncode == -signal.SIGKILL


def finish(proc) -> tuple[str, str]:
    out, err = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err
    return out, err


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def committed_view(shot: dict) -> dict[str, tuple[dict, list[dict]]]:
    """What readers see: each document's committed record and the chunks of that version."""
    out = {}
    for rec in shot["records"]:
        if rec.get("doc_hash"):
            chunks = [c for c in shot["chunks"]
                      if c["doc_id"] == rec["doc_id"] and c["doc_hash"] == rec["doc_hash"]]
            out[rec["doc_id"]] = (rec, chunks)
    return out


def assert_whole(shot: dict) -> None:
    """Every committed document has exactly its recorded chunks, each ordinal once."""
    for doc_id, (rec, chunks) in committed_view(shot).items():
        ordinals = sorted(c["ordinal"] for c in chunks)
        assert ordinals == list(range(rec["chunks"])), f"{doc_id} is not whole: {ordinals}"
        assert len({c["text"] for c in chunks}) == len(chunks), f"{doc_id} has duplicate chunks"
    if shot["chunks"]:
        assert shot["hits"] > 0, "the vector index does not answer queries"


def assert_clean(shot: dict, expected: dict[str, set[str]]) -> None:
    """After a finished ingest: the documents of the folder, whole, once, and nothing else."""
    assert_whole(shot)
    assert [r["doc_id"] for r in shot["records"] if r.get("status") == "pending"] == []
    assert {r["doc_id"] for r in shot["records"]} == set(expected)
    ids = [c["id"] for c in shot["chunks"]]
    assert len(ids) == len(set(ids))
    stored = {}
    for c in shot["chunks"]:
        stored.setdefault(c["doc_id"], set()).add(c["id"])
    assert stored == expected, "chunks of another version, or of no document, are left"
    assert len(ids) == sum(len(v) for v in expected.values())


UPDATE = ("\n## Update\n\nThe review of this case was updated in the latest audit, with new "
          "findings on remedy.\n")


@pytest.fixture(scope="module")
def crashed(tmp_path_factory) -> dict:
    """Eight documents ingested through two SIGKILLs and a queued ingest:

    1. a run is killed with the third document's chunks written but not committed;
    2. two committed documents change; the next run is killed just after the first one's new
       version is committed, before its old chunks are deleted; while it is paused there, a
       second ingest must stop, and a third, with --wait, must queue;
    3. the queued ingest takes over when the lock holder dies, and finishes; a last run, with
       nothing to do, shows the library as a new process opens it.
    """
    lab = Lab(tmp_path_factory.mktemp("crash"))
    proc, marks, _ = lab.start("--json", at="before-commit:3")
    wait_for(marks, proc, "paused")
    kill(proc)
    first, second = sorted(lab.docs.glob("*.md"))[:2]
    for f in (first, second):
        f.write_text(f.read_text() + UPDATE)
    holder, marks, shots = lab.start("--json", at="after-commit:1", before=True)
    paused = wait_for(marks, holder, "paused")
    busy = subprocess.run([*hrdd_command(), "ingest", str(lab.docs)], cwd=lab.root,
                          env={**os.environ, "HRDD_DATA_DIR": str(lab.data), "COLUMNS": "200"},
                          capture_output=True, text=True, timeout=WAIT_S)
    waiter, _, _ = lab.start("--json", "--wait")
    time.sleep(3)
    queued = waiter.poll() is None
    kill(holder)
    waited = finish(waiter)
    check, _, check_shots = lab.start("--json", before=True)
    checked = finish(check)
    return {"killed_mid_add": load(shots["before"]), "paused": paused, "busy": busy,
            "holder_pid": holder.pid, "queued": queued, "waiter": outcomes(waited[0]),
            "check": outcomes(checked[0]), "final": load(check_shots["before"]),
            "expected": lab.expected(), "changed": (first.stem, second.stem)}


def outcomes(stdout: str) -> dict[str, str]:
    return {r["doc_id"]: r["outcome"] for r in map(json.loads, stdout.splitlines())}


def test_a_kill_mid_write_leaves_no_partial_document_visible(crashed):
    shot = crashed["killed_mid_add"]  # as the next process opened the library
    assert_whole(shot)
    third = sorted(crashed["expected"])[2]
    assert sorted(committed_view(shot)) == sorted(crashed["expected"])[:2]
    assert [r["status"] for r in shot["records"] if r["doc_id"] == third] == ["pending"]
    assert any(c["doc_id"] == third for c in shot["chunks"]), \
        "the kill should have come after the third document's chunks were written"


def test_ingest_run_again_after_kills_holds_each_document_once_and_whole(crashed):
    assert_clean(crashed["final"], crashed["expected"])
    assert set(crashed["check"].values()) == {"unchanged"}


def test_an_update_killed_after_its_commit_keeps_the_new_version_only(crashed):
    first, second = crashed["changed"]
    assert crashed["paused"][-1] == f"paused after commit {first}"
    assert crashed["waiter"][first] == "unchanged", "the committed update was lost"
    assert crashed["waiter"][second] == "updated"
    # its old chunks, left by the kill, are gone (assert_clean compares every chunk id)
    assert_clean(crashed["final"], crashed["expected"])


def test_a_second_ingest_stops_with_a_clear_message_while_one_runs(crashed):
    busy = crashed["busy"]
    assert busy.returncode != 0
    message = " ".join(busy.stderr.split())
    assert "Another ingest is running" in message and f"pid {crashed['holder_pid']}" in message
    assert "--wait" in message and "Traceback" not in busy.stderr


def test_an_ingest_with_wait_queues_and_takes_over_when_the_running_one_dies(crashed):
    assert crashed["queued"], "the --wait ingest did not wait for the lock"
    first, second = crashed["changed"]
    added = {d: "added" for d in sorted(crashed["expected"])[2:]}
    assert crashed["waiter"] == {first: "unchanged", second: "updated", **added}


# ----- the app's case: one process answers questions while a thread ingests new files


def test_the_assistant_answers_while_an_ingest_runs_in_the_same_process(make_settings, embedder):
    guidance = ROOT / "corpus" / "guidance"
    settings = make_settings()
    library = Library(settings, embedder=embedder)
    first = [guidance / "four-ps-framework.md", guidance / "export-controls.md"]
    later = [guidance / n for n in ("meeting-venues.md", "lgbti-standards.md",
                                    "remedy-grievance.md")]
    ingest(library, first)
    assistant = build_assistant(settings, library).warm_up()
    errors, report = [], []

    def ingest_later():
        try:
            report.append(ingest(library, later))
        except Exception as e:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(e)

    thread = threading.Thread(target=ingest_later)
    thread.start()
    answers, during = [], []
    questions = ["How should we assess the purchaser of a telecom export deal?",
                 "Which export controls apply to cyber-surveillance items?",
                 "How do we choose a venue for a meeting in a country with poor human rights?"]
    while thread.is_alive() or len(answers) < 3:
        running = thread.is_alive()
        answer = assistant.answer(questions[len(answers) % len(questions)])
        during.append(running and thread.is_alive())
        docs = {d.doc_id for d in library.store.documents()}
        assert answer.text.strip()
        assert {c.doc_id for c in answer.citations} <= docs
        answers.append(answer)
    thread.join()

    assert not errors, errors
    assert any(during), "no answer was given while the ingest ran"
    assert [o.outcome for o in report[0].outcomes] == ["added"] * 3
    assert not answers[0].declined and answers[0].citations
    venue = assistant.answer(questions[2])
    assert "meeting-venues" in {c.doc_id for c in venue.citations}, "the new documents are used"
    assert library.store.chunk_count() == sum(d.chunks for d in library.store.documents())


# ----- a deal session killed mid-edit resumes at its last saved answer

SESSION_WRITER = r'''
"""Create a session and save the escalation deal's answers one by one, as the app does."""
import sys

import yaml

from assistant.assessments.assessment import start_assessment
from assistant.assessments.country_indicators import load_country_indicators
from assistant.assessments.playbook import find_playbook
from assistant.assessments.sessions import SessionRecords

url, deal_file, indicators_file = sys.argv[1:4]
answers = yaml.safe_load(open(deal_file))["answers"]
indicators = load_country_indicators(indicators_file)
records = SessionRecords(url, app_version="test", library_version="test")
session = start_assessment(find_playbook("export-deal"), "Borduria core upgrade", "Robin")
records.create(session, "Robin")
print("session", session.id, flush=True)
for n, (question, value) in enumerate(answers.items(), 1):
    value = ("yes" if value else "no") if isinstance(value, bool) else value
    session = session.answer(question, value, indicators)
    records.save(session, "Robin")
    print("saved", n, question, flush=True)
'''


def test_a_deal_session_killed_mid_edit_resumes_at_its_last_saved_answer(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(SESSION_WRITER)
    url = f"sqlite:///{tmp_path / 'data' / 'sessions.sqlite'}"
    deal = yaml.safe_load(ESCALATION.read_text())
    indicators = ESCALATION.parent / deal["country_indicators"]
    order = list(deal["answers"])
    proc = subprocess.Popen([sys.executable, str(script), url, str(ESCALATION), str(indicators)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    session_id, saved = None, 0
    for line in proc.stdout:
        word, value, *_ = line.split()
        if word == "session":
            session_id = value
        elif int(value) >= 7:
            saved = int(value)
            proc.send_signal(signal.SIGKILL)  # mid-session: it goes on saving until the signal
            break
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err[-2000:]

    engine = create_engine(url)
    with engine.connect() as db:
        assert db.execute(text("pragma integrity_check")).scalar_one() == "ok"
    engine.dispose()
    records = SessionRecords(url, app_version="test", library_version="test")
    try:
        resumed = records.load(session_id)
        got = list(resumed.answers)
        assert saved <= len(got) < len(order), "a saved answer was lost, or the kill came late"
        assert got == order[:len(got)], "the answers are not the ones saved, in order"
        trail = [e.field for e in records.audit_trail(session_id)]
        assert trail == ["session"] + [f"answer.{q}" for q in got]
        finished = resumed
        for question in order[len(got):]:
            value = deal["answers"][question]
            finished = finished.answer(question, ("yes" if value else "no")
                                       if isinstance(value, bool) else value)
        records.save(finished, "Robin")
        assert list(records.load(session_id).answers) == order
    finally:
        records.close()
