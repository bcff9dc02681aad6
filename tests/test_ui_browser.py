"""The web app in a real browser: Streamlit served on loopback, Debian's Chromium driven by
Playwright. Ask a question and open a citation; run a deal assessment to its decision,
download the report and sign it off as senior management (on SQLite, and on a real
PostgreSQL for a session resumed from the list); a screenshot of every page goes to
tests/output/screenshots/.

The library is built by `hrdd ingest` in a child process before the server starts, so only
the server ever holds the Chroma folder open.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from assistant.assessments.playbook import find_playbook
from tests.pdf_builder import text_pdf
from tests.postgres_server import create_database, postgres_url  # noqa: F401
from tests.processes import free_port, stop, unavailable

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "tests" / "output" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# Enough of the starter corpus for an export-deal answer and each step's guidance.
CORPUS_SUBSET = ["guidance/four-ps-framework.md", "guidance/techuk-cyber-exports.md",
                 "guidance/export-controls.md", "guidance/lawful-interception-model.md",
                 "case-studies/case-dpi-reseller.md"]
QUESTION = "How should we assess the purchaser of a telecom export deal?"
# A PDF of our own (two pages), so a citation can open the PDF at its page.
POLICY_PAGES = [
    ["Acme export policy", "", "1. Scope", "This policy covers every sale of network equipment",
     "outside the European Union by Acme Networks and its resellers."],
    ["2. Interception equipment", "",
     "Before any sale of lawful interception equipment, the export compliance",
     "officer checks the end user against the sanctions lists and records the result.",
     "A sale to a security agency needs the approval of the human rights committee."],
]
PDF_QUESTION = ("Who checks the end user against the sanctions lists before a sale of lawful "
                "interception equipment?")
WAIT_MS = 180_000


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the app exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the app did not answer on {url} within {seconds:.0f} s:\n"
                f"{log.read_text()[-3000:]}")


def _environment(work: Path, **extra: str) -> dict:
    if not CHROMIUM.exists():
        unavailable("Debian's Chromium is not installed at /usr/bin/chromium "
                    "(scripts/system-deps.sh installs it: apt-get install chromium)")
    return {**os.environ, "HRDD_DATA_DIR": str(work / "data"), "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **extra}


class App:
    """The app served from a child process over its data folder; it can be restarted."""

    def __init__(self, work: Path, env: dict):
        self.work, self.env = work, env
        self.proc, self.url, _ = serve(work, env)

    def restart(self) -> None:
        """Stop the server and start a new process over the same data folder."""
        stop(self.proc)
        self.proc, self.url, _ = serve(self.work, self.env)

    @property
    def data(self) -> Path:
        return self.work / "data"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app over a library ingested by another child process (fresh: nothing visited)."""
    work = tmp_path_factory.mktemp("browser")
    env = _environment(work)
    ingest = subprocess.run([sys.executable, "-m", "ui.cli", "ingest", "--json",
                             *(str(ROOT / "corpus" / p) for p in CORPUS_SUBSET)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    pdf = work / "docs" / "acme-export-policy.pdf"
    pdf.parent.mkdir()
    pdf.write_bytes(text_pdf(POLICY_PAGES))
    ingest = subprocess.run([sys.executable, "-m", "ui.cli", "ingest", "--json", str(pdf)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    served = App(work, env)
    try:
        yield served
    finally:
        stop(served.proc)


@pytest.fixture
def app_url(app) -> str:
    return app.url


@pytest.fixture(scope="module")
def pg_app(tmp_path_factory, postgres_url):  # noqa: F811 - the fixture imported above
    """The app keeping its sessions in a database of the test PostgreSQL server (its library
    is empty: signing off needs no guidance); yields the URL of the app and of the database."""
    work = tmp_path_factory.mktemp("browser-pg")
    database = create_database(postgres_url)
    for url in _serve(work, _environment(work, HRDD_DATABASE_URL=database)):
        yield url, database


def serve(work: Path, env: dict, name: str = "streamlit") -> tuple[subprocess.Popen, str, Path]:
    """The app on a free loopback port, healthy: (process, URL, log file). Stop it with
    `stop`."""
    port = free_port()
    log = work / f"{name}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "ui" / "web" / "app.py"),
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
    except BaseException:
        stop(proc)
        raise
    return proc, url, log


def _serve(work: Path, env: dict):
    proc, url, _ = serve(work, env)
    try:
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    _environment(Path("."))  # says why when Chromium is missing

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def new_page(browser, width: int = 1440):
    """A new visitor's window (no cookies, no Streamlit session), and the list of the addresses
    it asked for that are not the app on loopback: each is refused, and the test fails on it
    (nothing may come from the internet, no CDN, no font or script host)."""
    context = browser.new_context(viewport={"width": width, "height": 1000},
                                  accept_downloads=True)
    outside: list[str] = []

    def only_loopback(route) -> None:
        if urllib.parse.urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    return page, outside


@pytest.fixture
def page(browser, tmp_path):
    page, outside = new_page(browser)
    yield page
    page.context.close()
    assert not outside, f"the page asked the internet for {outside}"


@contextmanager
def visitor(browser, url: str, width: int = 1440):
    """A new visitor opening `url` first: the page, checked as the `page` fixture is."""
    page, outside = new_page(browser, width)
    try:
        page.goto(url)
        yield page
    finally:
        page.context.close()
    assert not outside, f"the page asked the internet for {outside}"


def fit_to_content(page) -> dict:
    """Make the window as tall as the page's content (up to 4,000 px), so nothing scrolls;
    returns the size it had."""
    size = page.viewport_size
    height = page.evaluate("""() => document.querySelector(
        '[data-testid="stMainBlockContainer"]').scrollHeight""")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"],
                                                                  min(height + 160, 4000))})
    return size


def shot(page, name: str) -> Path:
    """A screenshot of the whole page: Streamlit scrolls inside its main area, so the window
    is made as tall as the content for the picture."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    size = fit_to_content(page)
    page.mouse.move(0, 0)  # no hover toolbars in the picture
    page.wait_for_timeout(800)  # let the layout settle at the new size
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path


def idle(page) -> None:
    """Wait until the script run is over and every element has drawn (no placeholders)."""
    page.wait_for_timeout(300)
    page.wait_for_function("""() => !document.querySelector(
        '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stSkeleton"], '
        + '[data-stale="true"]')""")


def choose(page, select, label: str) -> None:
    """Pick an option of a Streamlit selectbox. Its list is a popover that closes when the page
    scrolls, so the window is first made tall enough that nothing needs to scroll (in Chromium
    156 a click that scrolled the box into view opened the list and closed it again)."""
    fit_to_content(page)
    page.wait_for_timeout(500)  # the layout settles at the new size
    select.get_by_role("button", name="Open").click()
    page.get_by_role("option", name=label, exact=True).click()


PAGES = {"/ask": "Ask the library", "/assess": "Deal assessment", "/library": "Library",
         "/evaluation": "Evaluation"}


def assert_found(page) -> None:
    assert not page.get_by_text("Page not found").count(), "Streamlit did not know the link"
    assert not page.get_by_role("dialog").count(), "no modal over the page"


def test_every_page_opens_from_its_link_on_a_fresh_server_and_on_every_visit(browser, app):
    """The first test of the module, so the server has served nothing before."""
    for _visit in range(2):  # every visit, not only the first
        for path, heading in PAGES.items():
            with visitor(browser, app.url + path) as page:
                page.get_by_role("heading", name=heading).first.wait_for()
                idle(page)
                assert_found(page)
                assert page.url.split("?")[0] == app.url + path
                if path == "/ask":
                    box = page.get_by_test_id("stChatInputTextArea")
                    box.click()  # a modal over the page would intercept the click
                    page.keyboard.type("Can we sell")
                    assert box.input_value() == "Can we sell"
    with visitor(browser, app.url) as page:
        page.get_by_role("heading", name="Ask the library").wait_for()
        assert page.url.split("?")[0] == app.url + "/ask", "the root opens Ask"


def test_a_link_to_one_assessment_session_opens_that_session(browser, app):
    from assistant.assessments.answers_file import read_script, start_from_script
    from assistant.assessments.sessions import SessionRecords
    from assistant.assessments.start import no_guidance, start_session

    records = SessionRecords(f"sqlite:///{app.data / 'sessions.sqlite'}", app_version="test",
                             library_version="test")
    script = read_script(ROOT / "examples" / "deals" / "escalation.yaml")
    session = start_session(records, start_from_script(script), script.assessor,
                            no_guidance("not needed"))
    records.close()
    with visitor(browser, f"{app.url}/assess?session={session.id}") as page:
        page.get_by_role("heading", name=script.deal).wait_for()
        idle(page)
        assert_found(page)
        assert page.get_by_text(f"/assess?session={session.id}").is_visible()
        page.reload()
        page.get_by_role("heading", name=script.deal).wait_for()
        assert f"session={session.id}" in page.url


def test_asking_a_question_and_opening_a_citation_shows_the_quote(page, app_url):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1366, "height": 768})  # a laptop's screen
    page.goto(app_url)
    answer = ask(page, QUESTION)
    # no scrolling up to it (the page keeps a chat at its bottom until the app moves it)
    expect(answer.get_by_text("Bottom line")).to_be_in_viewport(timeout=30_000)
    page.set_viewport_size({"width": 1440, "height": 1000})
    first = page.get_by_test_id("stExpander").filter(has_text="[1]").first
    first.locator("summary").click()
    quote = first.locator("strong").first
    quote.wait_for(state="visible")
    quoted = " ".join(quote.inner_text().split())
    assert len(quoted) > 20
    assert quoted.rstrip(".") in " ".join(answer.inner_text().split()), \
        "the highlighted quote is the sentence the answer relies on"
    assert page.get_by_text("not legal advice").first.is_visible()
    shot(page, "ask")


def test_a_deal_assessment_reaches_its_decision_and_the_report_downloads(page, app_url):
    """The escalation example: answers, an override with its reason, mitigations."""
    deal = yaml.safe_load((ROOT / "examples" / "deals" / "escalation.yaml").read_text())
    playbook = find_playbook("export-deal")
    page.goto(f"{app_url}/assess")
    page.get_by_label("Deal name").fill(deal["deal"])
    page.get_by_label("Your name (recorded in the audit trail)").fill(deal["assessor"])
    page.get_by_role("button", name="Start the assessment").click()
    for n, step in enumerate(playbook.steps):
        page.get_by_role("heading", name=step.title).wait_for()
        idle(page)
        if n == 0:
            shot(page, "assess-step")
        for q in step.questions:
            value = deal["answers"].get(q.id)
            if value is None:
                continue
            value = {True: "yes", False: "no"}.get(value, value)
            if q.options:
                group = page.get_by_test_id("stRadio").filter(has_text=q.text)
                group.get_by_text(q.option(str(value)).label, exact=True).click()
            else:
                page.get_by_test_id("stTextInput").filter(has_text=q.text) \
                    .locator("input").fill(str(value))
        page.get_by_role("button", name="Save and continue").click()

    page.get_by_role("heading", name="Review the ratings").wait_for()
    idle(page)
    dimensions = [d.id for d in playbook.dimensions]
    for dimension, override in deal["overrides"].items():
        panel = page.get_by_test_id("stExpander").filter(has_text="Override this rating") \
            .nth(dimensions.index(dimension))
        panel.locator("summary").click()
        choose(page, panel.get_by_test_id("stSelectbox"), override["risk"])
        panel.get_by_label("Reason (required)").fill(" ".join(override["reason"].split()))
        panel.get_by_role("button", name="Apply override").click()
        page.get_by_text("Overridden from").first.wait_for()
        idle(page)
    page.get_by_role("button", name="Continue").click()

    page.get_by_role("heading", name="Choose mitigations").wait_for()
    idle(page)
    for mitigation in playbook.mitigations:
        if mitigation.id in deal["mitigations"]:
            page.get_by_test_id("stCheckbox").filter(has_text=mitigation.text) \
                .locator("label").click()
    page.get_by_role("button", name="Save and continue").click()

    page.get_by_text("Decision: Escalate to senior management").wait_for()
    idle(page)
    assert page.get_by_text("Proposed conditions for senior management").is_visible()
    shot(page, "decision")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download report (Markdown)").click()
    report = Path(download.value.path()).read_text(encoding="utf-8")
    assert "## Decision: Escalate to senior management" in report
    assert deal["deal"] in report
    assert "Press reports say the operator applied a regional shutdown order" in report

    sign_off(page, "Dana Director")
    shot(page, "decision-signed")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download report (Markdown)").click()
    signed = Path(download.value.path()).read_text(encoding="utf-8")
    assert "| Decided by | Dana Director |" in signed
    assert "- **Rationale:** The demands protocol answers the shutdown record." in signed
    assert "- Quarterly report to the human-rights committee (added by the approver)." in signed


def sign_off(page, approver: str) -> None:
    """Approve the escalated deal on the decision screen, adding one condition."""
    form = page.get_by_test_id("stForm").filter(has_text="Record the decision")
    form.get_by_label("Approver (senior management)").fill(approver)
    form.get_by_label("Rationale (required)").fill("The demands protocol answers the "
                                                   "shutdown record.")
    form.get_by_label("Further conditions, one per line").fill(
        "Quarterly report to the human-rights committee.")
    form.get_by_role("button", name="Record the decision").click()
    page.get_by_text(f"Approved by {approver}").wait_for()
    idle(page)
    assert not page.get_by_role("button", name="Record the decision").count(), \
        "a closed session takes no further decision"


def test_a_session_resumed_from_the_list_is_signed_off_on_postgresql(page, pg_app):
    from assistant.assessments.answers_file import apply_script, read_script, start_from_script
    from assistant.assessments.sessions import SessionRecords
    from assistant.assessments.start import no_guidance, start_session

    url, database = pg_app
    records = SessionRecords(database, app_version="test", library_version="test")
    try:
        script = read_script(ROOT / "examples" / "deals" / "escalation.yaml")
        empty, none = start_from_script(script), no_guidance("not needed")
        start_session(records, empty, script.assessor, none,
                      apply_script(script, empty, none.find))
        page.goto(f"{url}/assess")
        page.get_by_role("tab", name="Resume a session").click()
        choose(page, page.get_by_test_id("stSelectbox").filter(has_text="Session"),
               f"{script.deal} ({empty.id})")
        page.get_by_role("button", name="Resume", exact=True).click()
        page.get_by_test_id("stSidebar").get_by_role("button", name="Decision").click()
        page.get_by_text("Decision: Escalate to senior management").wait_for()
        idle(page)
        sign_off(page, "Dana Director")
        last = records.load(empty.id).signoffs[-1]
        assert (last.approver, str(last.verdict)) == ("Dana Director", "approve")
        assert last.conditions[-1] == "Quarterly report to the human-rights committee."
        assert records.audit_trail(empty.id)[-1].who == "Dana Director"
    finally:
        records.close()


def test_the_library_and_evaluation_pages_render(page, app_url):
    page.goto(f"{app_url}/library")
    page.get_by_role("heading", name="Documents (6)").wait_for()
    idle(page)
    assert page.get_by_test_id("stSidebar").get_by_test_id("stMetricValue").first \
        .inner_text() == "6"
    assert page.get_by_test_id("stFileUploader").is_visible()
    shot(page, "library")
    page.goto(f"{app_url}/evaluation")
    page.get_by_role("heading", name="Evaluation").first.wait_for()
    idle(page)
    shown = page.get_by_text("No evaluation report yet").or_(page.get_by_text("By category"))
    shown.first.wait_for(state="visible", timeout=30_000)  # raises if neither ever shows
    assert shown.first.is_visible()
    shot(page, "evaluation")


def ask(page, question: str):
    """Type a question into the chat box and wait for its answer's first citation."""
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    answer = page.get_by_test_id("stChatMessage").filter(has_text="[1]").last
    answer.wait_for()
    idle(page)
    return answer


def choose_documents(page, titles: list[str]) -> None:
    """Pick documents in the sidebar's Documents filter, by the start of their title."""
    box = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect") \
        .filter(has_text="Documents")
    for title in titles:
        box.locator("input").click()
        page.get_by_role("option", name=title).first.click()
        page.keyboard.press("Escape")
        idle(page)


def citation_labels(page) -> list[str]:
    return [" ".join(s.inner_text().split()) for s in page.get_by_test_id("stExpander")
            .filter(has_text="—").locator("summary").all()]


def test_a_question_within_chosen_documents_cites_only_them(page, app_url):
    chosen = ["techUK checklist for assessing cyber security export risks",
              "Export controls as an overlay on human-rights due diligence"]
    page.goto(f"{app_url}/ask")
    choose_documents(page, chosen)
    ask(page, "Can we sell lawful interception to a state-owned operator?")
    labels = citation_labels(page)
    assert labels, "the restricted question is answered with sources"
    assert all(any(t in label for t in chosen) for label in labels), labels
    shot(page, "ask-chosen-documents")


def test_a_pdf_citation_opens_the_pdf_at_its_page_with_the_quote_highlighted(page, app_url):
    from playwright.sync_api import expect

    page.goto(f"{app_url}/ask")
    choose_documents(page, ["Acme export policy"])
    ask(page, PDF_QUESTION)
    first = page.get_by_test_id("stExpander").filter(has_text="[1] Acme export policy").first
    assert "page 2" in first.locator("summary").inner_text()
    first.locator("summary").click()
    first.get_by_role("button", name="Open page 2 of the PDF").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("page 2 of 2").wait_for()
    dialog.get_by_text("Page 2: the quoted passage is marked in yellow.").wait_for()
    expect(dialog.get_by_role("img").first).to_be_in_viewport()  # the page as the PDF draws it
    idle(page)
    shot(page, "ask-pdf-page")
    dialog.get_by_role("tab", name="Its text").click()
    mark = dialog.locator("strong").first
    expect(mark).to_be_in_viewport()  # the highlight is in view, no scrolling to find it
    marked = " ".join(mark.inner_text().split())
    assert "checks the end user against the sanctions lists" in marked, marked
    assert dialog.get_by_text("A sale to a security agency needs the approval").is_visible(), \
        "the whole page is shown, not only the quote"
    assert not dialog.get_by_text("Scope").count(), "only the cited page"


def conversations(app):
    from assistant.conversations import ConversationRecords

    return ConversationRecords(f"sqlite:///{app.data / 'sessions.sqlite'}")


def test_the_ask_page_fits_a_390_px_screen_and_works_from_the_keyboard(browser, app):
    with visitor(browser, f"{app.url}/ask", width=390) as page:
        page.get_by_role("heading", name="Ask the library").wait_for()
        idle(page)
        tab_to(page, "el.dataset.testid === 'stChatInputTextArea'")  # as a keyboard user
        page.keyboard.type(QUESTION)
        page.keyboard.press("Enter")
        page.get_by_test_id("stChatMessage").filter(has_text="[1]").last.wait_for()
        idle(page)
        assert_no_sideways_scrolling(page)
        assert page.get_by_text("Bottom line").first.is_visible()
        shot(page, "ask-390px")
        tab_to(page, "el.tagName === 'SUMMARY' && el.innerText.includes('[1]')", presses=200)
        page.keyboard.press("Enter")  # opens the citation
        cited = page.get_by_test_id("stExpander").filter(has_text="[1]").first
        cited.locator("strong").first.wait_for(state="visible")


def tab_to(page, test: str, arg: object = None, presses: int = 80, key: str = "Tab") -> None:
    """Press Tab (or `key`) until the focused element passes the JavaScript test `test` (on
    `el`, with `arg` passed in)."""
    for _ in range(presses):
        page.keyboard.press(key)
        if focused(page, test, arg):
            return
    pytest.fail(f"Tab never reached an element where {test} ({arg!r})")


def focused(page, test: str, arg: object = None) -> bool:
    """Whether the focused element passes the JavaScript test `test` (on `el` and `arg`)."""
    return page.evaluate(f"(arg) => {{ const el = document.activeElement; return !!({test}); }}",
                         arg)


def assert_no_sideways_scrolling(page) -> None:
    """Neither the page nor any scrolling area of the main column scrolls sideways (the main
    column's scroller is stMain, or another element when a chat input is pinned)."""
    wide = page.evaluate("""() => {
        const out = [];
        const root = document.documentElement;
        if (root.scrollWidth > root.clientWidth) out.push(`page ${root.scrollWidth}px`);
        for (const e of document.querySelectorAll('[data-testid="stAppViewContainer"] *')) {
            if (e.closest('[data-testid="stSidebar"]')) continue;
            const x = getComputedStyle(e).overflowX;
            if ((x === 'auto' || x === 'scroll') && e.scrollWidth > e.clientWidth + 1)
                out.push(`${e.dataset.testid || e.tagName} ${e.scrollWidth}/${e.clientWidth}px`);
        }
        return out;
    }""")
    assert wide == [], f"scrolls sideways: {wide}"


def test_a_deal_assessment_starts_from_the_keyboard_on_a_390_px_screen(browser, app):
    playbook = find_playbook("export-deal")
    with visitor(browser, f"{app.url}/assess", width=390) as page:
        page.get_by_role("heading", name="Deal assessment").wait_for()
        idle(page)
        tab_to(page, "el.getAttribute('aria-label') === 'Deal name'")
        page.keyboard.type("Keyboard deal")
        tab_to(page, "el.getAttribute('aria-label')?.startsWith('Your name')")
        page.keyboard.type("Kim Keys")
        tab_to(page, "el.tagName === 'BUTTON' && el.innerText.includes('Start the assessment')")
        page.keyboard.press("Enter")
        page.get_by_role("heading", name=playbook.steps[0].title).wait_for()
        idle(page)
        assert_no_sideways_scrolling(page)
        shot(page, "assess-390px")


def test_each_marker_in_an_answer_opens_its_source_by_click_and_by_keyboard(page, app_url):
    from playwright.sync_api import expect

    page.goto(f"{app_url}/ask")
    answer = ask(page, QUESTION)
    links, shown = {}, set()  # source number -> its container's key; numbers linked in view
    for link in answer.locator('a[href^="#source-"]').all():
        n, key = int(link.text_content().strip("[]")), link.get_attribute("href")[1:]
        source = page.locator(f".st-key-{key}")
        assert source.count() == 1, f"marker [{n}] leads to one source"
        label = source.locator("summary").inner_text().replace("format_quote", "").strip()
        assert label.startswith(f"[{n}] "), f"marker [{n}] leads to {label}"
        links[n] = key
        if link.is_visible():  # not folded away in "Questions to work through"
            shown.add(n)
    assert len(shown) >= 2, f"the answer links at least two sources in view: {links}, {shown}"
    last, first = max(shown), min(shown)

    answer.locator(f'a[href="#{links[last]}"]:visible').first.click()
    source = page.locator(f".st-key-{links[last]}")
    expect(source.locator("details")).to_have_attribute("open", "")
    expect(source.locator("strong").first).to_be_in_viewport()  # the quote, in view
    expect(source.locator("summary")).to_be_focused()

    # from the source in focus, back up to a marker of the first source, as a keyboard user would
    tab_to(page, "el.tagName === 'A' && el.getAttribute('href') === arg", f"#{links[first]}",
           presses=200, key="Shift+Tab")
    page.keyboard.press("Enter")
    source = page.locator(f".st-key-{links[first]}")
    expect(source.locator("details")).to_have_attribute("open", "")
    expect(source.locator("strong").first).to_be_in_viewport()
    expect(source.locator("summary")).to_be_focused()
    shot(page, "ask-source-link")


def pick(page, question: str, label: str) -> None:
    """Choose `label` for `question` (radio buttons) from the keyboard: Tab into the group
    (found by the name a screen reader reads out), Space checks the option in focus, the
    arrow keys move to the one wanted."""
    tab_to(page, "el.type === 'radio' && el.closest('[role=\"radiogroup\"]')"
                 ".getAttribute('aria-label') === arg", question, presses=150)
    page.keyboard.press("Space")
    for _ in range(12):
        if focused(page, "el.checked && el.closest('label').innerText.trim() === arg", label):
            return
        page.keyboard.press("ArrowDown")
    pytest.fail(f"the arrow keys never reached {label!r} for {question!r}")


def button(page, label: str) -> None:
    """Tab to the button named `label`."""
    tab_to(page, "el.tagName === 'BUTTON' && el.innerText.trim().endsWith(arg)", label,
           presses=150)


def test_a_deal_assessment_runs_from_start_to_report_on_the_keyboard_alone(browser, app):
    """Tab, Space, Enter, the arrow keys and typing: no mouse from the start form to the
    report, and the answers chosen so are the ones the session saved."""
    from assistant.assessments.sessions import SessionRecords

    deal = yaml.safe_load((ROOT / "examples" / "deals" / "clearly-fine.yaml").read_text())
    answers = {k: {True: "yes", False: "no"}.get(v, v) for k, v in deal["answers"].items()}
    playbook = find_playbook("export-deal")
    mitigation = playbook.mitigations[0]
    with visitor(browser, f"{app.url}/assess", width=1366) as page:
        page.get_by_role("heading", name="Deal assessment").wait_for()
        idle(page)
        tab_to(page, "el.getAttribute('aria-label') === 'Deal name'")
        page.keyboard.type(deal["deal"])
        tab_to(page, "el.getAttribute('aria-label')?.startsWith('Your name')")
        page.keyboard.type(deal["assessor"])
        button(page, "Start the assessment")
        page.keyboard.press("Enter")
        for step in playbook.steps:
            page.get_by_role("heading", name=step.title).wait_for()
            idle(page)
            for q in step.questions:
                if q.id not in answers:
                    continue
                if q.options:
                    pick(page, q.text, q.option(answers[q.id]).label)
                else:
                    tab_to(page, "el.tagName === 'INPUT' && el.getAttribute('aria-label') === arg",
                           q.text, presses=150)
                    page.keyboard.type(answers[q.id])
            button(page, "Save and continue")
            page.keyboard.press("Enter")
        page.get_by_role("heading", name="Review the ratings").wait_for()
        idle(page)
        button(page, "Continue")
        page.keyboard.press("Space")
        page.get_by_role("heading", name="Choose mitigations").wait_for()
        idle(page)
        tab_to(page, "el.type === 'checkbox' && el.closest('label').innerText.trim() === arg",
               mitigation.text, presses=150)
        page.keyboard.press("Space")
        button(page, "Save and continue")
        page.keyboard.press("Enter")
        page.get_by_text("Decision: Proceed, with the standard safeguards").wait_for()
        idle(page)
        session_id = page.url.split("session=")[1].split("&")[0]
        button(page, "Download report (Markdown)")
        with page.expect_download() as download:
            page.keyboard.press("Enter")
        report = Path(download.value.path()).read_text(encoding="utf-8")
    assert "## Decision: Proceed, with the standard safeguards" in report
    assert deal["deal"] in report and mitigation.text in report
    records = SessionRecords(f"sqlite:///{app.data / 'sessions.sqlite'}", app_version="test",
                             library_version="test")
    try:
        saved = records.load(session_id)
    finally:
        records.close()
    assert saved.assessor == deal["assessor"]
    assert {k: v for k, v in saved.answers.items() if k in answers} == answers
    assert list(saved.mitigations) == [mitigation.id]


def test_a_conversation_survives_a_reload_and_a_restart_and_its_vote_is_stored(page, app):
    """Last in the module: it restarts the app."""
    question = "A reseller will not tell us who the end user is. Can we go ahead?"
    page.goto(f"{app.url}/ask")
    ask(page, question)
    assert "conversation=" in page.url
    cid = page.url.split("conversation=")[1].split("&")[0]
    store = conversations(app)
    try:
        assert [t.answer.question for t in store.load(cid).turns] == [question]
        page.get_by_test_id("stChatMessage").last.locator('button[aria-label="Thumbs up"]') \
            .click()
        idle(page)
        votes = [v for v in store.feedback() if v["question"] == question]
        assert [v["rating"] for v in votes] == ["up"], "the vote is in the database"

        page.reload()
        page.get_by_test_id("stChatMessage").filter(has_text=question).wait_for()
        idle(page)
        assert page.get_by_test_id("stChatMessage").count() == 2
        assert citation_labels(page), "the reopened answer keeps its sources"

        app.restart()
        page.goto(f"{app.url}/ask")
        page.get_by_role("heading", name="Ask the library").wait_for()
        idle(page)
        assert not page.get_by_test_id("stChatMessage").count(), "a new conversation"
        page.get_by_test_id("stSidebar").get_by_role("button", name=question[:40]).click()
        page.get_by_test_id("stChatMessage").filter(has_text=question).wait_for()
        idle(page)
        assert f"conversation={cid}" in page.url
        assert citation_labels(page)
        shot(page, "ask-history")
    finally:
        store.close()
