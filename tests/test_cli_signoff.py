"""`hrdd assess decide`, `reassess`, `list` and the interactive "can be mitigated" flags, as an
assessor and an approver use them from the terminal, with the sessions in SQLite and in a
real PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.assessments.sessions import SessionRecords
from assistant.assessments.signoff import sign_off
from tests.cli import hrdd, succeeded
from tests.postgres_server import create_database, postgres_url  # noqa: F401

DEALS = Path(__file__).resolve().parents[1] / "examples" / "deals"
NEXT_YEAR = (datetime.now(UTC).date() + timedelta(days=365)).isoformat()


def flat(output: str) -> str:
    return " ".join(output.replace("│", " ").split())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.server)])
def database(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'sessions.sqlite'}"
    return create_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
def cli(tmp_path, database):
    data_dir, env = tmp_path / "data", {"HRDD_DATABASE_URL": database}
    return lambda args, stdin=None: hrdd(args, data_dir, tmp_path, stdin, env)


def run_deal(cli, name: str) -> str:
    output = succeeded(cli(["assess", "run", DEALS / f"{name}.yaml"])).output
    return re.search(r"Session (\w{12}) saved", output).group(1)


def exported(cli, session_id: str) -> dict:
    return json.loads(succeeded(cli(["assess", "export", session_id])).output)


def test_an_approver_signs_off_an_escalated_deal_interactively(cli):
    session_id = run_deal(cli, "escalation")
    before = exported(cli, session_id)
    own = cli(["assess", "decide", session_id, "--approver", "Alex Example", "--verdict",
               "reject", "--rationale", "Mine."])
    assert own.exit_code == 2
    assert "approver: Alex Example is the assessor of this session" in flat(own.output)
    assert exported(cli, session_id) == before, "the refused decision wrote nothing"

    answers = "\n".join(["Dana Director", "approve", "The demands protocol covers the record.",
                         "6", "Quarterly report to the human-rights committee.", "", NEXT_YEAR])
    done = succeeded(cli(["assess", "decide", session_id], answers + "\n"))
    assert "Approved by Dana Director; recorded in the audit trail." in done.output
    assert f"Review by {NEXT_YEAR}." in done.output
    signed = exported(cli, session_id)
    assert signed["session"]["signoff_status"] == "approve"
    last = signed["session"]["signoffs"][-1]
    assert last["conditions"][-1] == "Quarterly report to the human-rights committee."
    assert not any(c.startswith("Ship without") for c in last["conditions"]), "dropped no. 6"
    assert signed["audit_trail"][-1]["who"] == "Dana Director"

    listed = flat(succeeded(cli(["assess", "list"])).output)
    assert f"escalate approve {NEXT_YEAR} {session_id}" in listed
    closed = cli(["assess", "resume", session_id])
    assert closed.exit_code == 1
    assert f"start a re-assessment from it: `hrdd assess reassess {session_id}`" in \
        flat(closed.output)


def test_a_decision_on_a_deal_that_needs_none_is_refused_naming_the_field(cli):
    session_id = run_deal(cli, "clearly-fine")
    result = cli(["assess", "decide", session_id, "--approver", "Dana Director", "--verdict",
                  "approve", "--rationale", "Fine.", "--review-by", NEXT_YEAR])
    assert result.exit_code == 2
    assert f"decision: session {session_id} is 'proceed'" in flat(result.output)
    assert exported(cli, session_id)["session"]["signoffs"] == []
    asked = cli(["assess", "decide", session_id])  # refused before any question is asked
    assert asked.exit_code == 2 and "Your name (senior management)" not in asked.output
    bad_date = cli(["assess", "decide", run_deal(cli, "escalation"), "--approver", "Dana",
                    "--verdict", "approve", "--rationale", "Fine.", "--review-by", "soon"])
    assert bad_date.exit_code == 2 and "review_by: 'soon' is not a date" in flat(bad_date.output)


def test_list_shows_a_review_that_is_due(cli, database):
    session_id = run_deal(cli, "escalation")
    records = SessionRecords(database, app_version="test", library_version="test")
    try:  # approved last year, with a review date that has now passed
        long_ago = datetime.now(UTC) - timedelta(days=400)
        records.save(sign_off(records.load(session_id), "approve", "Dana Director", "Fine.",
                              review_by=long_ago.date() + timedelta(days=365), now=long_ago),
                     "Dana Director")
    finally:
        records.close()
    due = (long_ago.date() + timedelta(days=365)).isoformat()
    assert f"approve {due} DUE {session_id}" in flat(succeeded(cli(["assess", "list"])).output)


def test_the_assessor_records_with_a_reason_that_an_all_high_dimension_can_be_mitigated(cli):
    session_id = run_deal(cli, "clearly-no-go")
    assert exported(cli, session_id)["session"]["decision"]["outcome"] == "no-go"
    # four "override?" (no), four mitigation prompts (keep), then the flags: Purpose stays,
    # Place can be mitigated (with the reason), the rest stay; no report file.
    answers = ["n"] * 4 + [""] * 4 + ["", "yes", "A trusted partner can watch the rollout.",
                                      "", "", "n"]
    result = succeeded(cli(["assess", "resume", session_id], "\n".join(answers) + "\n"))
    assert "Every dimension is rated high: the deal is a no-go unless you record" in \
        flat(result.output)
    after = exported(cli, session_id)
    assert after["session"]["decision"]["outcome"] == "escalate"
    flag = after["audit_trail"][-1]
    assert (flag["field"], flag["new"], flag["reason"]) == (
        "mitigable.place", True, "A trusted partner can watch the rollout.")


def test_a_reassessment_reviews_the_earlier_answers_and_reports_the_changes(cli, tmp_path):
    session_id = run_deal(cli, "escalation")
    succeeded(cli(["assess", "decide", session_id, "--approver", "Dana Director", "--verdict",
                   "reject", "--rationale", "Come back when the shutdown record is clearer."]))
    # Purpose: unchanged; Place: changed (keep the country and oversight, no recent events,
    # keep the groups); the rest unchanged; then Enter through ratings, mitigations, flags.
    answers = ["n", "y", "", "", "2", ""] + ["n"] * 4 + [""] * 20
    result = succeeded(cli(["assess", "reassess", session_id, "--assessor", "Kim Example"],
                           "\n".join(answers) + "\n"))
    new_id = re.search(r"Session (\w{12}) re-assesses " + session_id, result.output).group(1)
    report = succeeded(cli(["assess", "report", new_id])).output
    section = report.split("## Changes since the last decision")[1].split("\n## ")[0]
    assert f"(session {session_id})" in report
    assert "senior management: rejected by Dana Director" in section
    assert "Rating of Place: high then, medium now" in section
    listed = flat(succeeded(cli(["assess", "list"])).output)
    assert f"{new_id} (re-assesses {session_id})" in listed


def test_an_answers_file_with_an_unknown_mitigation_id_is_refused_and_nothing_saved(cli,
                                                                                  tmp_path):
    bad = tmp_path / "deal.yaml"
    bad.write_text((DEALS / "escalation.yaml").read_text().replace(
        "../country-indicators.example.csv", str(DEALS.parent / "country-indicators.example.csv"))
        .replace("  - audit-rights\n", "  - audit-rights\n  - golden-handshake\n"))
    result = cli(["assess", "run", bad])
    assert result.exit_code == 2
    assert "mitigations: unknown mitigation id 'golden-handshake'" in flat(result.output)
    assert "Core network upgrade" not in succeeded(cli(["assess", "list"])).output
