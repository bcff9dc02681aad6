"""Session records on SQLite and on a real PostgreSQL: resume, list, export, audit trail."""

import json
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from assistant.answer import Citation
from assistant.assessments.answers_file import run_script
from assistant.assessments.assessment import start_assessment
from assistant.assessments.decision import Outcome
from assistant.assessments.playbook import find_playbook, load_playbook
from assistant.assessments.sessions import SessionRecords
from tests.postgres_server import create_database, postgres_url  # noqa: F401

DEALS = Path(__file__).resolve().parents[1] / "examples" / "deals"


def guidance(query: str) -> list[Citation]:
    return [Citation(1, "four-ps-framework", "The 4 Ps", f"On: {query[:20]}", page=2,
                     passage=f"The whole passage on {query}")]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.server)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'sessions.sqlite'}"
    return create_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
def open_records():
    """Open the records as a new process would; every store is closed after the test."""
    opened = []

    def open_(url, library="library-7"):
        opened.append(SessionRecords(url, app_version="0.1.0", library_version=library))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def records(db_url, open_records):
    return open_records(db_url)


def new_deal():
    return start_assessment(find_playbook("export-deal"), "Core upgrade", "Robin Tester")


def test_a_session_resumes_after_a_restart_exactly_as_saved(db_url, open_records):
    first = open_records(db_url)
    deal = new_deal()
    first.create(deal, "Robin Tester")
    deal = deal.answer("ownership", "state-owned").fetch_guidance(guidance)
    first.save(deal, "Robin Tester")
    first.close()  # the process ends here

    later = open_records(db_url)  # a new process, a new engine, the same database
    resumed = later.load(deal.id)
    assert resumed.state() == deal.state()
    assert resumed.guidance["purchaser"][0].quote.startswith("On: ")
    finished = resumed.answer("hr_policy", "none")
    later.save(finished, "Kim Reviewer")
    assert open_records(db_url).load(deal.id).answers == {"ownership": "state-owned",
                                                          "hr_policy": "none"}


def test_each_answer_is_on_disk_as_soon_as_it_is_saved(db_url, records):
    deal = new_deal()
    records.create(deal, "Robin")
    records.save(deal.answer("intended_use", "network-operations"), "Robin")
    # nothing else is flushed or closed: a crash now must lose nothing already saved
    engine = create_engine(db_url)
    with engine.connect() as raw:
        stored = raw.execute(text("select state from sessions")).scalar_one()
    engine.dispose()
    state = stored if isinstance(stored, dict) else json.loads(stored)
    assert state["answers"] == {"intended_use": "network-operations"}


def test_an_override_is_in_the_audit_trail_with_who_when_why_and_versions(records):
    deal = new_deal().answer("ownership", "state-owned")
    records.create(deal, "Robin")
    records.save(deal.override("purchaser", "high", "Shut down a region in 2023."), "Kim")
    entry = records.audit_trail(deal.id)[-1]
    assert (entry.who, entry.field, entry.old, entry.new) == ("Kim", "override.purchaser",
                                                              None, "high")
    assert entry.reason == "Shut down a region in 2023."
    assert (entry.library_version, entry.app_version) == ("library-7", "0.1.0")
    assert entry.at.tzinfo is UTC


def test_every_change_is_audited_once_and_an_unchanged_save_adds_nothing(records):
    deal = new_deal()
    records.create(deal, "Robin")
    changed = deal.answer("ownership", "private").choose_mitigations(["hr-clause"])
    assert [c.field for c in records.save(changed, "Robin")] == ["answer.ownership",
                                                                 "mitigation.hr-clause"]
    assert records.save(changed, "Robin") == ()
    changed_again = changed.answer("ownership", "security-agency")
    records.save(changed_again, "Robin")
    trail = records.audit_trail(deal.id)
    assert [e.field for e in trail] == ["session", "answer.ownership", "mitigation.hr-clause",
                                        "answer.ownership"]
    assert (trail[-1].old, trail[-1].new) == ("private", "security-agency")


def test_guidance_fetched_once_is_not_logged_again_with_each_answer(db_url, open_records):
    records = open_records(db_url)
    deal = new_deal().fetch_guidance(guidance)
    records.create(deal, "Robin")
    changes = records.save(deal.answer("ownership", "private"), "Robin")
    assert [c.field for c in changes] == ["answer.ownership"]
    resumed = open_records(db_url).load(deal.id)
    assert open_records(db_url).save(resumed.answer("hr_policy", "none"), "Robin")[0].field \
        == "answer.hr_policy"


def test_the_library_version_in_force_is_recorded_per_change(db_url, open_records):
    deal = new_deal()
    open_records(db_url, library="v1").create(deal, "Robin")
    open_records(db_url, library="v2").save(deal.answer("ownership", "private"), "Robin")
    assert [e.library_version for e in open_records(db_url).audit_trail(deal.id)] == ["v1",
                                                                                       "v2"]


def test_sessions_are_listed_newest_first_with_their_outcome(records):
    fine = run_script(DEALS / "clearly-fine.yaml", guidance)
    refused = run_script(DEALS / "clearly-no-go.yaml", guidance)
    undecided = new_deal()
    for assessment in (fine, refused, undecided):
        records.create(assessment, "Robin")
    records.save(fine.answer("purpose_notes", "Renewal."), "Robin")
    listed = records.list()
    assert listed[0].id == fine.id
    outcomes = {s.id: s.outcome for s in listed}
    assert outcomes == {fine.id: "proceed", refused.id: "no-go", undecided.id: None}


def test_an_export_holds_the_decision_ratings_and_audit_trail_as_json(records):
    deal = run_script(DEALS / "escalation.yaml", guidance)
    records.create(deal, "Alex Example")
    exported = json.loads(records.export_json(deal.id))
    session = exported["session"]
    assert session["decision"]["outcome"] == Outcome.ESCALATE.value
    assert session["ratings"]["purchaser"] == {"computed": "medium", "effective": "high",
                                               "overridden": True, "can_be_mitigated": True}
    assert session["answers"]["destination"] == "XB"
    assert exported["audit_trail"][0]["who"] == "Alex Example"


def test_a_resumed_session_keeps_the_playbook_it_started_with(db_url, open_records, tmp_path):
    edited = tmp_path / "export-deal.yaml"
    edited.write_text(find_playbook("export-deal").text, encoding="utf-8")
    playbook = load_playbook(edited)
    store = open_records(db_url)
    deal = start_assessment(playbook, "Deal", "Robin").answer("ownership", "private")
    store.create(deal, "Robin")
    edited.write_text("this: is no longer a playbook\n", encoding="utf-8")
    assert open_records(db_url).load(deal.id).rating("purchaser").computed.value == "low"


def test_an_unknown_session_id_is_reported(records):
    with pytest.raises(KeyError, match="no assessment session with id 'nope'"):
        records.load("nope")
    with pytest.raises(KeyError):
        records.save(new_deal(), "Robin")


def test_changes_without_a_name_are_refused(records):
    deal = new_deal()
    with pytest.raises(ValueError, match="name of who made the change"):
        records.create(deal, " ")
    assert records.list() == ()
