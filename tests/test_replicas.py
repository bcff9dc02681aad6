"""Two app processes behind one load balancer share everything that matters: the library (one
Chroma server), the conversations and feedback (one PostgreSQL database) and the ingest lock
(a PostgreSQL advisory lock). Real servers on loopback, each app with its own data folder (as
two machines would have), driven by a real Chromium.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from assistant.conversations import ConversationRecords
from tests.chroma_server import chroma_url  # noqa: F401
from tests.postgres_server import create_database, postgres_url  # noqa: F401
from tests.processes import stop
from tests.samples import DATA_REQUEST_GUIDE
from tests.test_ui_apptest import MINI_GUIDE
from tests.test_ui_browser import (  # noqa: F401 - browser is a fixture
    CORPUS_SUBSET,
    ROOT,
    _environment,
    ask,
    browser,
    citation_labels,
    idle,
    new_page,
    serve,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.server]


def visit(browser, url: str):  # noqa: F811
    """A new visitor (no cookies, no Streamlit session) opening `url`: (context, page)."""
    page, _ = new_page(browser)
    page.goto(url)
    return page.context, page
SUPPLIER_QUESTION = "What do site managers check at each visit to an installer?"
INGEST_MS = 1_200_000  # the long guide, embedded on a busy machine
GUIDE = DATA_REQUEST_GUIDE.encode()


class Replicas:
    """Two app processes on two loopback ports over one Chroma server and one database."""

    def __init__(self, work, chroma: str, database: str):
        self.database = database
        shared = {"HRDD_CHROMA_URL": chroma, "HRDD_DATABASE_URL": database,
                  "HRDD_COLLECTION": "replicas", "HRDD_LLM_PROVIDER": "none"}
        self.work = {name: work / name for name in ("a", "b")}
        for folder in self.work.values():
            folder.mkdir()
        self.env = {name: _environment(folder, **shared) for name, folder in self.work.items()}
        ingest = subprocess.run([sys.executable, "-m", "ui.cli", "ingest", "--json",
                                 *(str(ROOT / "corpus" / p) for p in CORPUS_SUBSET)],
                                cwd=ROOT, env=self.env["a"], capture_output=True, text=True,
                                timeout=900)
        assert ingest.returncode == 0, ingest.stderr[-3000:]
        self.proc, self.url = {}, {}
        try:
            for name, folder in self.work.items():
                self.proc[name], self.url[name], _ = serve(folder, self.env[name], f"app-{name}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for proc in self.proc.values():
            os.kill(proc.pid, signal.SIGCONT)  # a paused one must be able to end
            stop(proc)


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, chroma_url, postgres_url):  # noqa: F811
    served = Replicas(tmp_path_factory.mktemp("replicas"), chroma_url,
                      create_database(postgres_url))
    try:
        yield served
    finally:
        served.stop()


def upload(page, url: str, name: str, content: bytes, settle: bool = True) -> None:
    """Add a Markdown file on the Library page; `settle`: wait until its ingest has ended."""
    page.goto(f"{url}/library")
    page.get_by_role("heading", name="Add documents").wait_for()
    idle(page)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        {"name": name, "mimeType": "text/markdown", "buffer": content})
    page.get_by_text(name).first.wait_for()  # a short name: a long one is shown cut
    page.get_by_role("button", name="Add to library").click()
    if settle:
        idle(page)


def test_a_document_uploaded_through_one_replica_is_cited_by_the_other(browser, replicas):  # noqa: F811
    context_a, page_a = visit(browser, f"{replicas.url['a']}/library")
    context_b, page_b = visit(browser, f"{replicas.url['b']}/ask")
    try:
        upload(page_a, replicas.url["a"], "supplier-code.md", MINI_GUIDE)
        page_a.get_by_text("1 file(s) processed.").wait_for()

        page_b.get_by_role("heading", name="Ask the library").wait_for()
        ask(page_b, SUPPLIER_QUESTION)
        labels = citation_labels(page_b)
        assert labels and "Supplier code of conduct for cable installers" in labels[0], labels
    finally:
        context_a.close()
        context_b.close()


def test_feedback_given_on_both_replicas_lands_in_one_table(browser, replicas):  # noqa: F811
    questions = {"a": "Can we sell lawful interception to a state-owned operator?",
                 "b": "How should we assess the purchaser of a telecom export deal?"}
    thumbs = {"a": "Thumbs up", "b": "Thumbs down"}
    for name, question in questions.items():
        context, page = visit(browser, f"{replicas.url[name]}/ask")
        try:
            page.get_by_role("heading", name="Ask the library").wait_for()
            ask(page, question)
            page.get_by_test_id("stChatMessage").last \
                .locator(f'button[aria-label="{thumbs[name]}"]').click()
            idle(page)
        finally:
            context.close()

    store = ConversationRecords(replicas.database)
    try:
        votes = {v["question"]: v["rating"] for v in store.feedback()}
        titles = [c.title for c in store.list()]
    finally:
        store.close()
    assert votes == {questions["a"]: "up", questions["b"]: "down"}
    assert set(questions.values()) <= set(titles)  # both conversations, one table


def advisory_locks_held(database: str) -> int:
    engine = create_engine(database)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = "
                                     "'advisory' AND granted")).scalar()
    finally:
        engine.dispose()


def long_guide(sections: int = 120) -> bytes:
    """A Markdown guide of many sections: its ingest takes long enough to be caught running."""
    parts = ["---\ntitle: Site safety handbook for field teams\nkind: policy\n---\n"]
    for n in range(1, sections + 1):
        parts.append(f"\n# {n}. Site rule {n}\n\n" + " ".join(
            f"Rule {n}.{k}: before task {k} at site {n}, the team lead checks permit {n * k}, "
            f"the harness of each climber and the weather report for mast {n + k}."
            for k in range(1, 9)))
    return "\n".join(parts).encode()


@pytest.mark.timeout(1500)
def test_an_ingest_running_on_one_replica_refuses_an_upload_on_the_other(browser, replicas):  # noqa: F811
    context_a, page_a = visit(browser, f"{replicas.url['a']}/library")
    context_b, page_b = visit(browser, f"{replicas.url['b']}/library")
    paused = False
    try:
        upload(page_a, replicas.url["a"], "handbook.md", long_guide(), settle=False)
        # the progress bar names the file: its ingest holds the lock now
        page_a.get_by_text(re.compile(r"^Reading handbook\.md \(1 of 1\)$")).wait_for()
        os.kill(replicas.proc["a"].pid, signal.SIGSTOP)  # replica A holds it, paused mid-ingest
        paused = True
        assert advisory_locks_held(replicas.database) == 1

        upload(page_b, replicas.url["b"], "guide.md", GUIDE)
        refusal = page_b.get_by_text("Another ingest is running on this library").first
        refusal.wait_for()
        assert "hrdd ingest, pid" in refusal.inner_text()
        assert not list((replicas.work["b"] / "data" / "uploads").glob("*.md")), \
            "the refused upload is not kept (a later rebuild would slip it in)"

        os.kill(replicas.proc["a"].pid, signal.SIGCONT)
        paused = False
        page_a.get_by_text("1 file(s) processed.").wait_for(timeout=INGEST_MS)
        upload(page_b, replicas.url["b"], "guide.md", GUIDE)
        page_b.get_by_text("1 file(s) processed.").wait_for()
    finally:
        if paused:
            os.kill(replicas.proc["a"].pid, signal.SIGCONT)
        context_a.close()
        context_b.close()
