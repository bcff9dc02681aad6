"""The web app against a hostile page and hostile documents, served for real on 127.0.0.1:

- a page that re-points its own name at 127.0.0.1 (DNS rebinding) cannot open the app's
  WebSocket, so it gets none of the app (Chromium maps the name with --host-resolver-rules);
- a crash shows the browser a generic message, and the traceback goes to the server's log;
- document titles and passages never load an image or make a link (a local "trap" server
  counts every request a page makes to it);
- a question pasted over the length limit is answered with a notice, not silently dropped;
- table cells that a spreadsheet would run as formulas are exported with an apostrophe.
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.processes import stop, unavailable
from tests.test_ui_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, idle, serve

ROOT = Path(__file__).resolve().parent.parent
VENUE_QUESTION = ("Under the Acme venue policy, who decides on the venue for a company meeting in a "
                  "country with poor human rights?")
HOSTILE = """---
title: "Acme venues ![pixel](http://127.0.0.1:{trap}/title.png) [more](http://127.0.0.1:{trap}/title-link)"
kind: policy
topics: [venues]
---

# Acme venue policy

## 1. Who decides on a venue

The head of events decides on the venue for a company meeting in a country with poor human
rights after reading https://evil.example/steal?x=1 and www.evil.example/guide, writing to
venues@evil.example, and opening ![pixel](http://127.0.0.1:{trap}/passage.png) and
<img src="http://127.0.0.1:{trap}/raw.png"> and [the checklist](http://127.0.0.1:{trap}/link).

The human-rights team checks the country and the venue against https://evil.example/list and
www.evil.example/venues, and records the reasons for the choice.
"""


class Trap(http.server.BaseHTTPRequestHandler):
    """Notes every request: a document that made the browser fetch anything is caught here."""

    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - the http.server API
        Trap.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def trap():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trap)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def app(tmp_path_factory, trap):
    """The app over a library of two guidance documents and the hostile one."""
    work = tmp_path_factory.mktemp("hardening")
    docs = work / "docs"
    docs.mkdir()
    (docs / "acme-venues.md").write_text(HOSTILE.format(trap=trap))
    for name in ("meeting-venues.md", "four-ps-framework.md"):
        (docs / name).write_bytes((ROOT / "corpus" / "guidance" / name).read_bytes())
    env = {**os.environ, "HRDD_DATA_DIR": str(work / "data"), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    ingest = subprocess.run([sys.executable, "-m", "ui.cli", "ingest", "--json", str(docs)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    proc, url, log = serve(work, env, "app")
    try:
        yield url
    finally:
        stop(proc)


def handshake(url: str, host: str) -> str:
    """The status line the app answers a WebSocket upgrade with, sent as `host`."""
    port = int(url.rsplit(":", 1)[1])
    request = (f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}:{port}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Protocol: streamlit\r\nOrigin: http://{host}:{port}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request.encode())
        return s.recv(4096).decode("latin-1").split("\r\n", 1)[0]


@pytest.mark.slow
def test_a_websocket_opened_under_another_host_name_is_refused(app):
    assert " 101 " in handshake(app, "127.0.0.1") + " "
    assert " 101 " in handshake(app, "localhost") + " "
    refused = handshake(app, "rebind.example")
    assert " 101 " not in refused + " ", refused


@pytest.fixture(scope="module")
def chromium(app):
    if not CHROMIUM.exists():
        unavailable("Debian's Chromium is not installed at /usr/bin/chromium "
                    "(scripts/system-deps.sh installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            *CHROMIUM_ARGS, "--host-resolver-rules=MAP rebind.example 127.0.0.1"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    yield page
    context.close()


@pytest.mark.browser
@pytest.mark.slow
def test_a_page_that_rebinds_its_name_to_the_app_gets_nothing_of_it(page, app):
    port = app.rsplit(":", 1)[1]
    page.goto(f"http://rebind.example:{port}/")
    page.wait_for_timeout(8000)  # the app would have drawn its page by now
    assert page.get_by_text("Ask the library").count() == 0
    assert page.get_by_text("not legal advice").count() == 0
    page.goto(app)  # the same browser, under the app's own name
    page.get_by_text("Ask the library").first.wait_for()


@pytest.mark.browser
@pytest.mark.slow
def test_titles_and_passages_never_load_an_image_or_make_a_link(page, app, trap):
    Trap.hits.clear()
    page.goto(app)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(VENUE_QUESTION)
    box.press("Enter")
    page.get_by_test_id("stExpander").filter(has_text="[1]").first.wait_for()
    idle(page)
    sources = page.get_by_test_id("stExpander").filter(has_text="Acme venues")
    assert sources.count() >= 1, "the hostile document should be cited"
    for i in range(sources.count()):
        sources.nth(i).locator("summary").click()
    idle(page)
    main = page.get_by_test_id("stMainBlockContainer")
    assert "evil.example" in main.inner_text(), "the passage with the links is shown"
    links = main.locator("a").evaluate_all("els => els.map(e => e.href)")
    assert [h for h in links if "evil.example" in h or f":{trap}" in h] == []
    images = page.locator("img").evaluate_all("els => els.map(e => e.src)")
    assert [s for s in images if f":{trap}" in s] == []

    page.goto(f"{app}/library")  # the red team's case: the "Removed ..." message
    page.get_by_role("heading", name="Remove a document").wait_for()
    idle(page)
    page.get_by_test_id("stSelectbox").get_by_role("button", name="Open").click()
    page.get_by_role("option").filter(has_text="acme-venues").click()
    page.get_by_role("button", name="Remove document").click()
    dialog = page.get_by_role("dialog")  # the confirmation names the document: escaped too
    dialog.get_by_text("and its chunks leave the library").wait_for()
    dialog.get_by_role("button", name="Remove", exact=True).click()
    page.get_by_text("Removed Acme venues").wait_for()
    idle(page)
    page.wait_for_timeout(1500)
    assert Trap.hits == [], f"a document made the browser fetch {Trap.hits}"


@pytest.mark.browser
@pytest.mark.slow
def test_a_question_pasted_over_the_limit_is_answered_with_a_notice(page, app):
    question = (VENUE_QUESTION + " ") * 60  # about 5,500 characters; the limit is 4,000
    page.goto(app)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    page.get_by_text("Only the first 4000 characters of the question were used.").wait_for()
    assert page.get_by_text("the first 4,000 are used").first.is_visible()


@pytest.mark.browser
@pytest.mark.slow
def test_a_crash_shows_no_traceback_in_the_browser_and_logs_it(page, tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "chroma").write_text("not a folder: opening the library fails")
    env = {**os.environ, "HRDD_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    proc, url, log = serve(tmp_path, env, "broken")
    try:
        page.goto(url)
        page.get_by_test_id("stException").first.wait_for()
        idle(page)
        shown = page.get_by_test_id("stMainBlockContainer").inner_text()
        assert "Traceback" not in shown and ".py" not in shown and str(data) not in shown, shown
    finally:
        stop(proc)
    logged = log.read_text()
    assert "Traceback" in logged and "chroma" in logged, logged[-3000:]


# ----- exports: what a spreadsheet would run


def test_formula_cells_get_an_apostrophe():
    from ui.web.components import cells

    rows = cells([{"Title": '=HYPERLINK("http://evil.example","x")', "Year": -1,
                   "Reason": "+1", "Who": "@me", "Tab": "\tx", "Plain": "Export policy"}])
    assert rows == [{"Title": '\'=HYPERLINK("http://evil.example","x")', "Year": -1,
                     "Reason": "'+1", "Who": "'@me", "Tab": "'\tx", "Plain": "Export policy"}]


@pytest.mark.slow
def test_a_title_that_is_a_formula_is_listed_and_exported_as_text(monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    from ui.web import resources

    monkeypatch.setenv("HRDD_DATA_DIR", str(tmp_path / "data"))
    resources.settings.clear()
    try:
        at = AppTest.from_file(str(ROOT / "ui" / "web" / "app.py"), default_timeout=120)
        at.run()
        at.switch_page("views/library.py").run()
        title = '=HYPERLINK("http://evil.example/x","Open the policy")'
        doc = f"---\ntitle: '{title}'\nkind: policy\n---\n\n# Policy\n\nEvery sale is checked.\n"
        at.file_uploader[0].set_value(("policy.md", doc.encode(), "text/markdown"))
        next(b for b in at.button if b.label == "Add to library").click().run()
        assert not at.exception, at.exception
        assert list(at.dataframe[1].value["Title"]) == ["'" + title]
    finally:
        resources.settings.clear()
