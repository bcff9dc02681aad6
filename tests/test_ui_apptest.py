"""The web app, driven in-process with Streamlit's AppTest: ask, decline, assess, upload.

The app opens the library of HRDD_DATA_DIR through its own cached resources; in this
process that is the session's prepared corpus library (one Chroma folder, one process).
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
import yaml

from ui.web import resources

pytest.importorskip("streamlit.testing.v1")
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "ui" / "web" / "app.py")
DEALS = ROOT / "examples" / "deals"
ON_TOPIC = "How should we assess the purchaser of a telecom export deal?"
OFF_TOPIC = "What is the best recipe for chocolate cake?"
MINI_GUIDE = b"""---
title: Supplier code of conduct for cable installers
kind: policy
topics: [partners]
---

# 1. Scope

Every installer working on our network sites signs the supplier code of conduct before the
first job. The code covers working hours, safety equipment and the right to join a union.

# 2. Checks

Site managers check the signed code and the safety equipment at each visit and report
gaps to the procurement team within a week.
"""


@pytest.fixture
def open_app(monkeypatch):
    """An AppTest of ui/app.py on the library in `data_dir`, on the page given."""

    def open_(data_dir: Path, page: str | None = None) -> AppTest:
        monkeypatch.setenv("HRDD_DATA_DIR", str(data_dir))
        resources.settings.clear()  # settings are read once per process; re-read for this test
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        if page:
            at.switch_page(page).run()
        assert not at.exception, at.exception
        return at

    yield open_
    resources.settings.clear()


@pytest.fixture
def corpus_app(open_app, corpus_library):
    return lambda page=None: open_app(corpus_library.settings.data_dir, page)


def shown(markdown: str) -> str:
    """Text as a reader sees it (the app escapes document text for Markdown)."""
    return re.sub(r"\\(.)", r"\1", str(markdown))


def texts(elements) -> list[str]:
    return [shown(e.value) for e in elements]


def sources(at: AppTest) -> list:
    """The citation expanders ("[n] title — location"), not the answer's own folded parts."""
    return [e for e in at.expander if re.match(r"\[\d+\] ", e.label)]


@pytest.mark.slow
def test_a_question_gets_an_answer_with_citations_that_open_on_their_passage(corpus_app):
    at = corpus_app()
    at.chat_input[0].set_value(ON_TOPIC).run()

    assert not at.exception, at.exception
    assert len(at.chat_message) == 2
    labels = [e.label for e in sources(at)]
    assert labels and labels[0].startswith("[1] ")
    assert any("techUK" in label or "4 Ps" in label for label in labels)
    first = sources(at)[0]
    passage = first.markdown[0].value
    assert "**" in passage, "the quote is highlighted (bold) inside its passage"
    assert "section" in first.caption[0].value or "page" in first.caption[0].value
    assert any("not legal advice" in c for c in texts(at.caption))
    assert [b.label for b in at.get("download_button")] == ["Export conversation"]
    assert "Library" in texts(at.sidebar.markdown)[1]
    assert int(at.sidebar.metric[0].value) > 10


@pytest.mark.slow
def test_a_question_outside_the_library_is_declined_with_the_nearest_documents(corpus_app):
    at = corpus_app()
    at.chat_input[0].set_value(OFF_TOPIC).run()

    assert not at.exception, at.exception
    assert any("does not cover" in i for i in texts(at.info))
    nearest = [m for m in texts(at.markdown) if m.startswith("**Nearest documents")]
    assert nearest and nearest[0].count("\n- ") >= 1
    assert not sources(at), "a declined answer cites nothing"


@pytest.mark.slow
def test_a_question_the_library_only_brushes_against_is_answered_under_a_warning(corpus_app):
    at = corpus_app()
    at.chat_input[0].set_value("is the office wifi monitored by IT").run()

    assert not at.exception, at.exception
    assert any("only loosely" in w for w in texts(at.warning))
    assert sources(at), "the closest passages are still cited, so they can be checked"


@pytest.mark.slow
def test_the_sidebar_filters_limit_the_sources_to_one_kind_of_document(corpus_app):
    at = corpus_app()
    assert "case-study" in at.multiselect(key="ask_kinds").options
    at.multiselect(key="ask_kinds").set_value(["case-study"]).run()
    at.chat_input[0].set_value("Can we sell lawful interception to a state-owned operator?").run()

    assert not at.exception, at.exception
    cited = [texts(e.caption)[0] for e in sources(at)]
    assert cited and all("document case-" in s for s in cited), cited


@pytest.mark.slow
def test_an_empty_library_says_how_to_fill_it(open_app, tmp_path):
    at = open_app(tmp_path / "empty")
    assert any("library is empty" in i for i in texts(at.info))
    assert not at.chat_input


@pytest.mark.slow
def test_the_documents_filter_limits_the_sources_to_the_chosen_documents(corpus_app,
                                                                        corpus_library):
    docs = corpus_library.store.documents()
    chosen = sorted(d.doc_id for d in docs if "techuk" in d.doc_id or "export-controls" in d.doc_id)
    assert len(chosen) == 2, [d.doc_id for d in docs]
    at = corpus_app()
    at.multiselect(key="ask_docs").set_value(chosen).run()
    at.chat_input[0].set_value("Can we sell lawful interception to a state-owned operator?").run()

    assert not at.exception, at.exception
    documents = {texts(e.caption)[0].rsplit("document ", 1)[1] for e in sources(at)}
    assert documents, "the restricted question is answered with sources"
    assert documents <= set(chosen), documents


def answer_to(corpus_app, question: str):
    """The answer's chat message to `question`, asked on a fresh Ask page over the corpus."""
    at = corpus_app()
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at.chat_message[1]


@pytest.mark.slow
def test_a_composed_answer_shows_its_bottom_line_first(corpus_app):
    answer = answer_to(corpus_app, "Can we sell deep packet inspection to a reseller who will "
                                   "not name the end user?")
    first = shown(answer.markdown[0].value)
    assert "Bottom line" in first, [shown(m.value)[:60] for m in answer.markdown]
    assert len(shown(answer.markdown[1].value)) > 20, "the bottom line itself comes next"


@pytest.mark.slow
def test_a_figure_below_the_rules_threshold_is_shown_under_the_bottom_line(corpus_app):
    answer = answer_to(corpus_app, "our uk company turns over about 12m GBP. do we have to "
                                   "publish a modern slavery statement?")
    notes = [c.value for c in answer.caption]
    assert any("12m GBP" in n and "on that figure, no" in n for n in notes), notes
    assert any("Verdict: no" in m.value for m in answer.markdown)  # the badge follows the figure


@pytest.mark.slow
def test_a_verdict_shows_the_library_question_it_answers(corpus_app):
    answer = answer_to(corpus_app, "our local partner may be a front for the ruling family but "
                                   "the licence deal is lawful. ok to sign with them?")
    notes = [c.value for c in answer.caption]
    assert any(n.startswith("The library's answer to \u201c") and "local partner" in n
               for n in notes), notes


def conversations(data_dir: Path):
    from assistant.conversations import ConversationRecords

    return ConversationRecords(f"sqlite:///{data_dir / 'sessions.sqlite'}")


@pytest.mark.slow
def test_a_conversation_is_saved_and_reopens_from_its_link_in_a_new_session(corpus_app,
                                                                             corpus_library):
    at = corpus_app()
    at.chat_input[0].set_value(ON_TOPIC).run()
    cid = at.query_params["conversation"]
    cid = cid[0] if isinstance(cid, list) else cid
    store = conversations(corpus_library.settings.data_dir)
    try:
        saved = store.load(cid)
        assert [t.answer.question for t in saved.turns] == [ON_TOPIC]
        assert saved.turns[0].answer.citations, "the citations are kept with the answer"

        fresh = AppTest.from_file(APP, default_timeout=120)
        fresh.query_params["conversation"] = cid
        fresh.run()
        assert not fresh.exception, fresh.exception
        assert len(fresh.chat_message) == 2
        assert shown(fresh.chat_message[0].markdown[0].value) == ON_TOPIC
        assert sources(fresh), "the reopened answer still opens its citations"
        assert any(ON_TOPIC[:40] in shown(m.value) for m in fresh.sidebar.markdown), \
            "the open conversation is marked in the sidebar list"

        rename = [t for t in fresh.sidebar.text_input if t.label == "New title"][0]
        rename.set_value("Purchaser checks")
        [b for b in fresh.sidebar.button if b.label == "Save title"][0].click().run()
        assert store.load(cid).title == "Purchaser checks"
    finally:
        store.close()


@pytest.mark.slow
def test_deleting_a_conversation_asks_first_and_keeps_the_feedback(corpus_app, corpus_library):
    store = conversations(corpus_library.settings.data_dir)
    try:
        at = corpus_app()
        at.chat_input[0].set_value(ON_TOPIC).run()
        at.feedback[0].set_value(1).run()
        cid = at.query_params["conversation"]
        cid = cid[0] if isinstance(cid, list) else cid
        click(at, "Delete conversation")
        assert store.load(cid), "nothing is deleted before the confirmation"
        click(at, "Delete")
        assert not at.exception, at.exception
        with pytest.raises(KeyError):
            store.load(cid)
        assert not at.chat_message, "the page starts a new conversation"
        votes = [f for f in store.feedback() if f["question"] == ON_TOPIC and f["turn"] is None]
        assert votes and votes[-1]["rating"] == "up", "the vote outlives the conversation"
    finally:
        store.close()


@pytest.mark.slow
def test_feedback_is_stored_in_the_database_with_the_question_answer_and_settings(
        corpus_app, corpus_library):
    import json

    store = conversations(corpus_library.settings.data_dir)
    try:
        before = len(store.feedback())
        at = corpus_app()
        at.chat_input[0].set_value(ON_TOPIC).run()
        at.feedback[0].set_value(0).run()
        at.text_area[0].set_value("Misses the reseller angle.")
        click(at, "Send comment")

        assert not at.exception, at.exception
        votes = store.feedback()
        assert len(votes) == before + 2, "one row for the thumb, one for the comment"
        rating, record = votes[-2:]
        assert rating["rating"] == record["rating"] == "down" and rating["turn"] == record["turn"]
        assert record["comment"] == "Misses the reseller angle." and record["question"] == ON_TOPIC
        assert record["citations"] and record["settings"]["retrieval_k"] > 0
        assert "llm_api_key" not in store.feedback_jsonl()
        assert json.loads(store.feedback_jsonl().splitlines()[-1])["comment"] == record["comment"]
        assert not (corpus_library.settings.data_dir / "feedback.jsonl").exists()
        database = corpus_library.settings.data_dir / "sessions.sqlite"
        assert stat.filemode(database.stat().st_mode) == "-rw-------", "its owner's only"
    finally:
        store.close()


@pytest.mark.slow
def test_the_library_page_lists_what_the_library_is_missing(corpus_app):
    at = corpus_app()
    at.chat_input[0].set_value(OFF_TOPIC).run()
    assert any("does not cover" in i for i in texts(at.info))
    at.switch_page("views/library.py").run()

    assert not at.exception, at.exception
    assert "What the library is missing" in [h.value for h in at.subheader]
    topics = next(d.value for d in at.dataframe if "Topic" in d.value.columns)
    assert topics["Questions"].sum() >= 1 and topics["Declined"].sum() >= 1
    questions = next(d.value for d in at.dataframe if "Question" in d.value.columns)
    assert OFF_TOPIC in list(questions["Question"])
    assert "Who" not in " ".join(questions.columns), "no one's name is kept"
    assert "Export the missing questions (CSV)" in [b.label for b in at.get("download_button")]


def fill_step(at: AppTest, answers: dict) -> None:
    """Answer the questions shown on the current step from an answers file."""
    for radio in at.radio:
        qid = (radio.key or "").rsplit("-", 1)[-1]
        if qid in answers:
            value = answers[qid]
            radio.set_value("yes" if value is True else "no" if value is False else str(value))
    for box in [*at.text_input, *at.text_area]:
        qid = (box.key or "").rsplit("-", 1)[-1]
        if (box.key or "").startswith("q-") and qid in answers:
            box.set_value(str(answers[qid]))


def step_title(at: AppTest) -> str:
    """The heading of the assessment step shown (the deal's name is the first subheader)."""
    return at.subheader[1].value


def click(at: AppTest, label: str) -> AppTest:
    buttons = [b for b in at.button if b.label == label]
    assert buttons, f"no button {label!r} among {[b.label for b in at.button]}"
    return buttons[0].click().run()


@pytest.mark.slow
def test_a_deal_playbook_runs_step_by_step_to_a_decision_and_a_report(corpus_app):
    script = yaml.safe_load((DEALS / "clearly-fine.yaml").read_text())
    at = corpus_app("views/assess.py")
    assert "Export deal assessment (4 Ps)" in at.selectbox(key="assess_playbook").options
    at.text_input[0].set_value(script["deal"])
    at.text_input[1].set_value("Sam Example")
    click(at, "Start the assessment")
    assert not at.exception, at.exception

    titles = []
    while step_title(at) != "Review the ratings":
        titles.append(step_title(at))
        assert at.expander, f"guidance with citations beside the questions of {titles[-1]}"
        fill_step(at, script["answers"])
        click(at, "Save and continue")
        assert not at.error, texts(at.error)
    assert len(titles) == 6
    assert at.progress[0].value < 100
    click(at, "Continue")
    assert step_title(at) == "Choose mitigations"
    click(at, "Save and continue")

    assert not at.exception, at.exception
    banner = texts(at.success)
    assert banner and "Decision: Proceed" in banner[0]
    downloads = [b.label for b in at.get("download_button")]
    assert downloads == ["Download report (Markdown)", "Download report (HTML)"]
    assert at.progress[0].value == 100


@pytest.mark.slow
def test_an_override_needs_a_reason_and_changes_the_decision(corpus_app):
    script = yaml.safe_load((DEALS / "clearly-fine.yaml").read_text())
    at = corpus_app("views/assess.py")
    at.selectbox(key="assess_playbook").set_value("export-deal")
    at.text_input[0].set_value("Override check")
    at.text_input[1].set_value("Alex Example")
    click(at, "Start the assessment")
    while step_title(at) != "Review the ratings":
        fill_step(at, script["answers"])
        click(at, "Save and continue")

    at.selectbox(key="ovr-risk-purchaser").set_value("high")
    at.button(key="ovr-apply-purchaser").click().run()
    assert any("reason is required" in e for e in texts(at.error))
    at.selectbox(key="ovr-risk-purchaser").set_value("high")
    at.text_input(key="ovr-reason-purchaser").set_value("Press reports of a shutdown order.")
    at.button(key="ovr-apply-purchaser").click().run()
    assert not at.error, texts(at.error)
    click(at, "Continue")
    click(at, "Save and continue")
    assert any("Decision: Escalate" in w for w in texts(at.warning))


@pytest.mark.slow
def test_the_other_playbooks_can_be_chosen(corpus_app):
    at = corpus_app("views/assess.py")
    at.selectbox(key="assess_playbook").set_value("meeting-venue").run()
    at.text_input[0].set_value("Annual members' meeting venue")
    at.text_input[1].set_value("Rui Example")
    click(at, "Start the assessment")

    assert not at.exception, at.exception
    assert "Meeting venue assessment" in at.caption[0].value + at.caption[1].value
    assert step_title(at) == "The country's track record"


@pytest.mark.slow
def test_an_earlier_session_can_be_resumed(corpus_app):
    at = corpus_app("views/assess.py")
    at.text_input[0].set_value("Resumable deal")
    at.text_input[1].set_value("Kim Example")
    click(at, "Start the assessment")
    first_step, steps = step_title(at), shown(at.progress[0].text).split(" of ")[1].split(":")[0]
    answered = at.radio[0].options[1]
    at.radio[0].set_value(answered)
    assert at.radio[0].index == 1
    click(at, "Save and continue")
    assert step_title(at) != first_step
    click(at, "Close session")

    listed = at.dataframe[0].value
    assert "Resumable deal" in list(listed["Deal"])
    session_id = listed[listed["Deal"] == "Resumable deal"]["ID"].iloc[0]
    at.selectbox(key="assess_resume_id").set_value(session_id)
    click(at, "Resume")
    assert at.subheader[0].value == "Resumable deal"
    assert shown(at.progress[0].text).startswith(f"Step 1 of {steps}: {first_step} · 1 of ")
    assert step_title(at) == first_step
    assert at.radio[0].index == 1, "the resumed session shows the answer it saved"


@pytest.fixture
def empty_library(tmp_path) -> Path:
    return tmp_path / "lab" / "data"


@pytest.mark.slow
def test_an_uploaded_markdown_file_is_ingested_listed_and_can_be_removed(open_app,
                                                                         empty_library):
    at = open_app(empty_library, "views/library.py")
    at.file_uploader[0].set_value(("Supplier code (v2).md", MINI_GUIDE, "text/markdown"))
    click(at, "Add to library")

    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    assert (empty_library / "uploads" / "Supplier-code-v2.md").is_file()
    listed = at.dataframe[1].value
    assert "Supplier code of conduct for cable installers" in list(listed["Title"])
    assert at.sidebar.metric[0].value == "1"
    at.file_uploader[0].set_value(("Supplier code (v2).md", MINI_GUIDE, "text/markdown"))
    click(at, "Add to library")
    assert "unchanged" in at.dataframe[0].value["Outcome"].iloc[0]

    at.selectbox(key="remove_doc").set_value(list(listed["ID"])[0]).run()
    click(at, "Remove document")
    assert at.sidebar.metric[0].value == "1", "nothing is removed before the confirmation"
    click(at, "Cancel")
    assert at.sidebar.metric[0].value == "1"
    click(at, "Remove document")
    click(at, "Remove")
    assert any("Removed" in s for s in texts(at.success))
    assert not (empty_library / "uploads" / "Supplier-code-v2.md").exists()
    assert at.sidebar.metric[0].value == "0"


@pytest.mark.slow
def test_hostile_uploads_are_refused_and_nothing_is_written_outside_the_data_dir(
        open_app, empty_library, tmp_path):
    at = open_app(empty_library, "views/library.py")
    at.file_uploader[0].set_value([
        ("notes.pdf", b"just some text pretending to be a PDF\n" * 20, "application/pdf"),
        ("../../etc/x.pdf", b"%PDF-1.4\n" + b"0" * 200, "application/pdf"),
        ("..\\..\\evil.md", b"# evil\n\nwritten where it should not be", "text/markdown"),
    ])
    click(at, "Add to library")

    assert not at.exception, at.exception
    errors = texts(at.error)
    assert len(errors) == 3, errors
    assert any("notes.pdf" in e and "PDF" in e for e in errors)
    assert sum("folder path" in e for e in errors) == 2
    written = [p for p in tmp_path.rglob("*") if p.is_file()
               and not p.resolve().is_relative_to(empty_library.resolve())]
    assert written == []
    uploads = empty_library / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_document_text_is_shown_as_text_never_as_markup():
    from assistant.answer import Citation
    from ui.web.components import answer_markdown, citation_label, highlighted

    passage = ("Intro <script>alert('x')</script> [a link](javascript:alert(1)) $x$ :red[red]\n\n"
               "The quoted sentence with **stars** and <b>tags</b>. After it.")
    quote = "The quoted sentence with **stars** and <b>tags</b>."
    shown = highlighted(passage, quote)

    unescaped = re.compile(r"(?<!\\)[<>]|(?<!\\)\]\(")
    assert not unescaped.search(shown)
    assert "\\<script\\>" in shown and "\\$x\\$" in shown and "\\:red\\[red\\]" in shown
    assert shown.count("**") == 2, "only the quote is bold; the document's own ** are escaped"
    assert shown.split("**")[1].startswith("The quoted sentence")
    assert not unescaped.search(answer_markdown("- <img src=x onerror=alert(1)> [1]"))
    title = citation_label(Citation(1, "d", "Title <i>x</i> [y](z)", "q", section="1. A"))
    assert not unescaped.search(title)


def test_an_answers_markers_link_to_its_listed_sources_and_to_nothing_else():
    from ui.web.components import answer_markdown

    shown = answer_markdown("Check the end user [1]. Ask for audit rights [1, 3]. An old "
                            "footnote [2].\n- A [trap](javascript:alert(1)) [3]",
                            {1: "source-t1-1", 3: "source-t1-3"})
    links = re.findall(r"(?<!\\)\[(.*?)(?<!\\)\]\((.*?)\)", shown)
    assert links == [("\\[1\\]", "#source-t1-1"), ("\\[1\\]", "#source-t1-1"),
                     ("\\[3\\]", "#source-t1-3"), ("\\[3\\]", "#source-t1-3")], shown
    assert "footnote \\[2\\]" in shown, "a marker of no listed source stays text"
    assert "\\[trap\\]\\(javascript\\:alert\\(1\\)\\)" in shown, "the document's link is text"
    assert answer_markdown("A line [1].") == "A line \\[1\\]\\.", "no sources: no links"


def test_a_form_label_reads_as_written_and_its_markup_stays_text():
    """Streamlit reads a label out as the field's accessible name as it is: an escape before
    a hyphen or a bracket is heard ("end backslash use")."""
    from ui.web.components import label

    assert label("Has the customer given a written end-use statement (one, or more)?") == \
        "Has the customer given a written end-use statement (one, or more)?"
    shown = label("- <b>x</b> [a](javascript:x) $y$ :red[z] **w**")
    assert not re.search(r"(?<!\\)[<>\[\]$*:]", shown), shown
    assert shown.startswith("\\- "), "no list"
    assert label("1. First") == "1\\. First"


@pytest.mark.slow
def test_the_evaluation_page_says_how_to_run_one_when_there_is_no_report(corpus_app,
                                                                        monkeypatch, tmp_path):
    monkeypatch.setenv("HRDD_REPORTS_DIR", str(tmp_path / "no-reports-yet"))
    at = corpus_app("views/evaluation.py")

    assert not at.exception, at.exception
    assert at.title[0].value.endswith("Evaluation")
    assert any("No evaluation report yet" in i and "hrdd eval" in i for i in texts(at.info))
    assert not at.main.metric
    assert [b.label for b in at.main.button] == ["Run the evaluation"]


@pytest.mark.slow
def test_the_evaluation_page_shows_the_latest_report(corpus_app, monkeypatch, tmp_path):
    from evals.golden_set import load_golden_set
    from evals.report import write_report
    from evals.runner import evaluate
    from tests.test_eval import TablePipeline, _write_small_set

    reports = tmp_path / "reports"
    write_report(evaluate([TablePipeline()], load_golden_set(_write_small_set(tmp_path))), reports)
    monkeypatch.setenv("HRDD_REPORTS_DIR", str(reports))
    at = corpus_app("views/evaluation.py")

    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert list(metrics)[:2] == ["Recall@5", "MRR@10"]
    assert metrics["Recall@5"] == "1.000" and metrics["Decline accuracy"] == "1.000"
    assert any(h.value.startswith("Failing questions") for h in at.subheader)
    assert at.dataframe, "the per-category table"
    assert any(h.value == "How sure these figures are" for h in at.subheader)
    sure = next(d.value for d in at.dataframe if "Held-back" in d.value.columns)
    assert sure["Figure"].iloc[0] == "recall@5" and sure["All"].iloc[0].startswith("1.000 [")


@pytest.mark.slow
def test_the_evaluation_runs_from_the_page_and_its_report_is_shown(corpus_app, monkeypatch,
                                                                   tmp_path):
    import time

    reports = tmp_path / "reports"
    monkeypatch.setenv("HRDD_REPORTS_DIR", str(reports))
    at = corpus_app("views/evaluation.py")
    click(at, "Run the evaluation")
    assert not at.exception, at.exception
    assert any("An evaluation is running" in i for i in texts(at.info))

    deadline = time.monotonic() + 600
    while not list(reports.glob("*/report.json")) and time.monotonic() < deadline:
        time.sleep(2)
    assert list(reports.glob("*/report.json")), "no report within 10 minutes"
    time.sleep(1)  # the thread ends just after writing the report
    at.run()
    assert not at.exception, at.exception
    assert [m.label for m in at.main.metric][:2] == ["Recall@5", "MRR@10"]
    assert [b.label for b in at.main.button] == ["Run the evaluation"]


def saved_escalation(data_dir: Path) -> str:
    """The escalation example saved in the data directory's session records; its id."""
    from assistant.assessments.answers_file import apply_script, read_script, start_from_script
    from assistant.assessments.sessions import SessionRecords
    from assistant.assessments.start import no_guidance, start_session

    records = SessionRecords(f"sqlite:///{data_dir / 'sessions.sqlite'}", app_version="test",
                             library_version="test")
    script = read_script(DEALS / "escalation.yaml")
    empty = start_from_script(script)
    none = no_guidance("not needed here")
    start_session(records, empty, script.assessor, none, apply_script(script, empty, none.find))
    records.close()
    return empty.id


@pytest.mark.slow
def test_senior_management_signs_off_an_escalated_deal_on_the_decision_screen(open_app,
                                                                              tmp_path):
    data_dir = tmp_path / "data"
    session_id = saved_escalation(data_dir)
    at = open_app(data_dir, "views/assess.py")
    at.selectbox(key="assess_resume_id").set_value(session_id)
    click(at, "Resume")
    at.button(key="goto-8").click().run()  # six playbook steps, ratings, mitigations, decision
    assert any("Decision: Escalate" in w for w in texts(at.warning))

    at.text_input(key="signoff-approver").set_value("Alex Example")
    at.text_area(key="signoff-why").set_value("Looks fine to me.")
    click(at, "Record the decision")
    assert any("approver: Alex Example is the assessor" in e for e in texts(at.error))

    at.text_input(key="signoff-approver").set_value("Dana Director")
    at.checkbox(key="signoff-keep-5").uncheck()  # narrow: drop the sixth proposed condition
    at.text_area(key="signoff-add").set_value("Quarterly report to the human-rights committee.")
    click(at, "Record the decision")
    assert not at.error, texts(at.error)
    approved = [s for s in texts(at.success) if "Approved" in s]
    assert approved and "by Dana Director" in approved[0]
    assert "Quarterly report to the human-rights committee." in approved[0]
    assert "Ship without the interception" not in approved[0]
    assert not [b for b in at.button if b.label == "Record the decision"], "the form is gone"
