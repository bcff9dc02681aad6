"""Senior management's decision on an escalated deal, closed sessions and re-assessment, on
SQLite and on a real PostgreSQL; the paths that used to get round the 4 Ps rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from assistant.assessments.answers_file import apply_script, read_script, run_script, start_from_script
from assistant.assessments.decision import Outcome
from assistant.assessments.report import render_html, render_markdown
from assistant.assessments.sessions import SessionRecords
from assistant.assessments.signoff import Verdict, sign_off
from assistant.assessments.start import no_guidance, start_reassessment, start_session
from tests.postgres_server import create_database, postgres_url  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
DEALS = ROOT / "examples" / "deals"
NEXT_YEAR = datetime.now(UTC).date() + timedelta(days=365)
NOTHING = no_guidance("no library in these tests")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.server)])
def records(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'data' / 'sessions.sqlite'}"
    else:
        url = create_database(request.getfixturevalue("postgres_url"))
    store = SessionRecords(url, app_version="0.1.0", library_version="lib-1")
    yield store
    store.close()


def escalated(records) -> str:
    """The escalation example, saved; its id."""
    script = read_script(DEALS / "escalation.yaml")
    empty = start_from_script(script)
    start_session(records, empty, script.assessor, NOTHING,
                  apply_script(script, empty, NOTHING.find))
    return empty.id


def stored_rows(records) -> tuple[dict, int]:
    """The raw state of the only session and the number of audit rows, read with SQL."""
    engine = create_engine(records.engine.url)
    with engine.connect() as db:
        state = db.execute(text("select state from sessions")).scalar_one()
        audits = db.execute(text("select count(*) from audit_trail")).scalar_one()
    engine.dispose()
    return state, audits


# --- the sign-off --------------------------------------------------------------------------

def test_an_approval_with_narrowed_and_added_conditions_is_audited_and_reported(records):
    session_id = escalated(records)
    proposed = records.load(session_id).decision().conditions
    feature_limits = next(c for c in proposed if c.startswith("Ship without"))
    records.sign_off(session_id, "approve", "Dana Director", "The operator signed the protocol.",
                     drop=[feature_limits], add=["Quarterly report to the HR committee."],
                     review_by=NEXT_YEAR)

    signed = records.load(session_id)
    last = signed.signoffs[-1]
    assert (last.verdict, last.approver, last.review_by) == (Verdict.APPROVE, "Dana Director",
                                                             NEXT_YEAR)
    assert feature_limits not in last.conditions
    assert last.conditions[-1] == "Quarterly report to the HR committee."
    entry = records.audit_trail(session_id)[-1]
    assert (entry.who, entry.field, entry.reason) == ("Dana Director", "signoff.1",
                                                      "The operator signed the protocol.")
    assert entry.new["verdict"] == "approve" and entry.new["review_by"] == NEXT_YEAR.isoformat()
    assert entry.at.tzinfo is UTC

    report = render_markdown(signed)
    assert "| Decided by | Dana Director |" in report and "| Approved |" in report
    assert "- **Rationale:** The operator signed the protocol." in report
    assert f"- **Review by:** {NEXT_YEAR.isoformat()}" in report
    assert "- Quarterly report to the HR committee (added by the approver)." in report
    assert "### Proposed conditions the approver dropped\n\n- Ship without" in report
    assert "Name: ____" not in report, "the block is filled in, not blank lines"
    assert "<td>Dana Director</td>" in render_html(signed)

    listed = records.list()[0]
    assert (listed.signoff, listed.review_by) == ("approve", NEXT_YEAR)


def test_send_back_asks_questions_reopens_the_session_and_waits_for_a_new_decision(records):
    session_id = escalated(records)
    records.sign_off(session_id, Verdict.MORE_INFORMATION, "Dana Director",
                     "The press reports need checking.",
                     questions=["Did the operator challenge the 2023 order in court?"])
    back = records.load(session_id)
    assert back.closed_by is None
    assert records.list()[0].signoff == "more-information"
    assert "- Did the operator challenge the 2023 order in court?" in render_markdown(back)
    with pytest.raises(ValueError, match="^signoff: .*cannot be changed or removed"):
        records.save(replace(back, signoffs=()), "Alex Example")
    records.save(back.answer("purpose_notes", "It did not; confirmed by counsel."), "Alex Example")
    records.sign_off(session_id, "reject", "Dana Director", "No challenge: too risky.")
    assert [s.verdict for s in records.load(session_id).signoffs] == [Verdict.MORE_INFORMATION,
                                                                      Verdict.REJECT]


def test_an_approval_needs_a_review_date_a_condition_and_a_complete_assessment(records):
    deal = run_script(DEALS / "escalation.yaml", lambda query: [])
    with pytest.raises(ValueError, match="^review_by: an approval needs a review date"):
        sign_off(deal, "approve", "Dana", "Fine.")
    with pytest.raises(ValueError, match="^review_by: .* is not after the decision"):
        sign_off(deal, "approve", "Dana", "Fine.", review_by=date(2020, 1, 1))
    with pytest.raises(ValueError, match="^drop: .* is required by the answers"):
        sign_off(deal, "approve", "Dana", "Fine.", review_by=NEXT_YEAR,
                 drop=["No shipment before the export licence is granted."])
    with pytest.raises(ValueError, match="^open questions: 1 question"):
        sign_off(_without(deal, "limits_enforceable"), "approve", "Dana", "Fine.",
                 review_by=NEXT_YEAR)
    with pytest.raises(ValueError, match="^questions: say what information is missing"):
        sign_off(deal, "more-information", "Dana", "Not enough.")
    with pytest.raises(ValueError, match="^verdict: 'maybe' is not one of approve, reject"):
        sign_off(deal, "maybe", "Dana", "Hmm.")
    with pytest.raises(ValueError, match="^a reason is required for the decision"):
        sign_off(deal, "reject", "Dana", "  ")


def _without(deal, question_id):
    return replace(deal, answers={k: v for k, v in deal.answers.items() if k != question_id})


# --- bad input: a clear error naming the field, and nothing written -------------------------

def test_the_assessor_cannot_sign_off_their_own_assessment_and_nothing_is_written(records):
    session_id = escalated(records)
    before = stored_rows(records)
    with pytest.raises(ValueError, match="^approver: alex  example is the assessor"):
        records.sign_off(session_id, "approve", "alex  example", "Looks fine.",
                         review_by=NEXT_YEAR)
    assert stored_rows(records) == before


def test_a_decision_on_a_session_that_is_not_escalated_is_refused(records):
    fine = run_script(DEALS / "clearly-fine.yaml", lambda query: [])
    records.create(fine, "Sam Example")
    before = stored_rows(records)
    with pytest.raises(ValueError, match=rf"^decision: session {fine.id} is 'proceed'; only "
                                         "an escalated assessment"):
        records.sign_off(fine.id, "approve", "Dana Director", "Fine.", review_by=NEXT_YEAR)
    assert stored_rows(records) == before


def test_a_signed_off_session_refuses_every_edit_and_nothing_is_written(records):
    session_id = escalated(records)
    records.sign_off(session_id, "reject", "Dana Director", "Too risky.")
    before = stored_rows(records)
    signed = records.load(session_id)
    with pytest.raises(ValueError, match=r"^answer.ownership: session \w+ was closed when Dana "
                                         "Director decided 'reject'"):
        signed.answer("ownership", "private")
    with pytest.raises(ValueError, match="^mitigations: session"):
        signed.choose_mitigations([])
    with pytest.raises(ValueError, match="^session: .* already rejected"):
        sign_off(signed, "approve", "Kim Board", "On second thoughts.", review_by=NEXT_YEAR)
    # a surface that bypassed the checks is stopped by the store
    with pytest.raises(ValueError, match="^answer.ownership: .*nothing was saved"):
        records.save(replace(signed, answers={**signed.answers, "ownership": "private"}), "Alex")
    with pytest.raises(ValueError, match="^signoff.1: .*nothing was saved"):
        records.save(replace(records.load(session_id), signoffs=()), "Alex")
    assert stored_rows(records) == before


def test_a_sign_off_is_saved_only_under_the_approvers_name(records):
    session_id = escalated(records)
    signed = sign_off(records.load(session_id), "reject", "Dana Director", "Too risky.")
    with pytest.raises(ValueError, match="^signoff: the decision of Dana Director must be saved "
                                         "under their name"):
        records.save(signed, "Alex Example")


def test_an_answers_file_with_an_unknown_mitigation_id_names_the_field(tmp_path):
    path = tmp_path / "deal.yaml"
    path.write_text((DEALS / "clearly-fine.yaml").read_text().replace(
        "../country-indicators.example.csv", str(ROOT / "examples" /
                                                 "country-indicators.example.csv"))
        + "mitigations: [hr-clause, magic-clause]\n")
    with pytest.raises(ValueError, match=r"deal.yaml: mitigations: unknown mitigation id "
                                         r"'magic-clause' in playbook 'export-deal'"):
        run_script(path, lambda query: [])


# --- re-assessment ---------------------------------------------------------------------------

def test_a_reassessment_starts_from_the_earlier_session_and_reports_what_changed(records):
    session_id = escalated(records)
    records.sign_off(session_id, "approve", "Dana Director", "With the conditions.",
                     review_by=NEXT_YEAR)
    again = start_reassessment(records, session_id, "Kim Example", NOTHING)
    assert again.id != session_id and again.previous.session_id == session_id
    earlier = records.load(session_id)
    assert again.answers == earlier.answers and again.mitigations == earlier.mitigations
    assert again.overrides == earlier.overrides and again.signoffs == ()
    trail = records.audit_trail(again.id)
    assert trail[0].reason.endswith(f"as a re-assessment of session {session_id}")
    assert {e.field for e in trail} >= {"answer.destination", "override.purchaser"}

    renewed = again.answer("recent_events", "no").override(
        "purchaser", "medium", "The operator now challenges orders in court.")
    records.save(renewed, "Kim Example")
    report = render_markdown(records.load(again.id))
    section = report.split("## Changes since the last decision")[1].split("\n## ")[0]
    assert f"(session {session_id})" in report
    assert "Then: 'escalate' (assessor Alex Example); senior management: approved by Dana " \
           "Director" in section
    assert "Rating of Place: high then, medium now" in section
    assert "Rating of Purchaser: high then, medium now" in section
    assert "'Yes' then, 'No' now" in section
    assert records.list()[0].previous_id == session_id


# --- the paths that used to get round the rule, as an assessor meets them ---------------------

def test_refused_clauses_do_not_count_and_the_report_says_why():
    deal = run_script(DEALS / "clearly-fine.yaml", lambda query: [])
    deal = deal.answer("ownership", "state-owned").answer("hr_clause_accepted", "no")
    claimed = deal.choose_mitigations(["hr-clause"])
    decision = claimed.decision()
    assert decision.outcome is Outcome.ESCALATE and decision.unserved == ("Purchaser",)
    assert [m.id for m, _ in claimed.discounted()] == ["hr-clause"]
    report = render_markdown(claimed)
    assert "### Chosen mitigations that do not count" in report
    assert "Not counted: The customer refuses the human-rights clause." in report
    assert "; not counted: The customer refuses the human-rights clause." in report
    served = deal.choose_mitigations(["demands-protocol"]).decision()
    assert served.outcome is Outcome.PROCEED_WITH_CONDITIONS
    assert served.conditions == ("Agree a protocol with the purchaser for state demands "
                                 "(written order, legal basis, narrow reading, notice to the "
                                 "company where lawful) (for Purchaser).",)


def test_an_export_licence_pending_attaches_its_condition_and_refused_blocks_the_deal():
    fine = run_script(DEALS / "clearly-fine.yaml", lambda query: [])
    pending = fine.answer("export_licence", "pending").decision()
    assert pending.outcome is Outcome.PROCEED_WITH_CONDITIONS
    assert pending.conditions == ("No shipment before the export licence is granted.",)
    refused = fine.answer("export_licence", "refused")
    assert refused.decision().outcome is Outcome.BLOCKED
    report = render_markdown(refused)
    assert "## Decision: Blocked by a legal bar" in report
    assert "- The export licence was refused." in report
    assert "without it, the 4 Ps rule gives 'escalate'" in report  # a refusal rates Product high
    assert "### Standard safeguards" not in report
