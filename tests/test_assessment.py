"""Assessment sessions: answers, ratings, overrides, indicators, scripted runs and reports."""

from pathlib import Path

import pytest

from assistant.answer import Citation
from assistant.assessments.answers_file import run_script
from assistant.assessments.assessment import start_assessment
from assistant.assessments.country_indicators import (
    IndicatorError,
    load_country_indicators,
    parse_country_indicators,
)
from assistant.assessments.decision import Outcome, Risk
from assistant.assessments.playbook import find_playbook
from assistant.assessments.report import NOT_LEGAL_ADVICE, render_html, render_markdown

ROOT = Path(__file__).resolve().parents[1]
DEALS = ROOT / "examples" / "deals"
EXAMPLE_CSV = ROOT / "examples" / "country-indicators.example.csv"

# A stand-in for the library: each guidance query gets the documents whose topic it mentions.
LIBRARY = {
    "purpose": ("four-ps-framework", "The 4 Ps of telecom export risk", "Purpose"),
    "country": ("hostile-jurisdictions", "To go or not to go", "Destination"),
    "export licences": ("export-controls", "Export controls and cyber-surveillance", "Catch-all"),
    "purchaser": ("gni-principles", "GNI Principles", "Government demands"),
    "resellers": ("techuk-cyber-exports", "Assessing cyber security export risks", "Partners"),
    "contract": ("techuk-cyber-exports", "Assessing cyber security export risks", "Contracts"),
}


def fake_guidance(query: str) -> list[Citation]:
    hits = [(k, v) for k, v in LIBRARY.items() if k in query]
    return [Citation(n, doc_id, title, f"What the library says about {keyword}.", section=sec)
            for n, (keyword, (doc_id, title, sec)) in enumerate(hits, start=1)]


@pytest.fixture
def deal():
    return start_assessment(find_playbook("export-deal"), "Test deal", "Robin Tester")


# --- answers are checked ---------------------------------------------------------------

def test_an_unknown_question_is_refused(deal):
    with pytest.raises(ValueError, match="unknown question 'colour' in playbook 'export-deal'"):
        deal.answer("colour", "red")


def test_an_answer_outside_the_choices_is_refused_and_the_choices_listed(deal):
    with pytest.raises(ValueError, match=r"'spying' is not one of the choices \(private, "
                                         r"state-owned, security-agency\)"):
        deal.answer("ownership", "spying")


def test_an_answer_of_the_wrong_type_is_refused(deal):
    with pytest.raises(ValueError, match="expects text, got int 3"):
        deal.answer("ownership", 3)
    with pytest.raises(ValueError, match="expects a two-letter country code"):
        deal.answer("destination", "Sylvania")


def test_an_overlong_free_text_answer_is_refused(deal):
    with pytest.raises(ValueError, match=r"too long \(2001 characters; at most 2000\)"):
        deal.answer("purpose_notes", "x" * 2001)
    assert deal.answer("purpose_notes", "x" * 2000).answers["purpose_notes"] == "x" * 2000


def test_yes_no_answers_accept_booleans_and_any_case(deal):
    assert deal.answer("legal_review", True).answers["legal_review"] == "yes"
    assert deal.answer("legal_review", "NO").answers["legal_review"] == "no"


def test_answering_returns_a_new_session_and_leaves_the_old_one_alone(deal):
    answered = deal.answer("ownership", "private")
    assert "ownership" not in deal.answers and answered.answers["ownership"] == "private"


# --- ratings, overrides, mitigations ----------------------------------------------------

def test_a_dimension_is_rated_by_the_worst_of_its_answers(deal):
    purchaser = deal.answer("ownership", "private").answer("hr_policy", "policy-only")
    assert purchaser.rating("purchaser").computed is Risk.MEDIUM
    assert purchaser.rating("purchaser").drivers == (
        "What is the purchaser's human-rights policy and practice, online and offline?: "
        "A policy on paper, little evidence of practice",)
    # an unvetted reseller (partners step) raises the purchaser's rating
    assert purchaser.answer("sales_channel", "unvetted-partner").rating("purchaser").computed \
        is Risk.HIGH


def test_free_text_carries_no_risk_and_an_unanswered_dimension_has_no_rating(deal):
    noted = deal.answer("purpose_notes", "Asked for by the ministry.")
    assert noted.rating("purpose").computed is None
    assert noted.decision() is None


def test_an_override_needs_a_reason_and_wins_over_the_computed_rating(deal):
    answered = deal.answer("ownership", "private")
    with pytest.raises(ValueError, match="a reason is required"):
        answered.override("purchaser", "high", "  ")
    overridden = answered.override("purchaser", "high", "Press reports of a shutdown.")
    rating = overridden.rating("purchaser")
    assert (rating.computed, rating.effective) == (Risk.LOW, Risk.HIGH)
    assert rating.override.reason == "Press reports of a shutdown."
    assert overridden.clear_override("purchaser").rating("purchaser").effective is Risk.LOW


def test_a_chosen_mitigation_makes_its_dimensions_mitigable_unless_set_otherwise(deal):
    assert not deal.is_mitigable("purchaser")
    with_clause = deal.choose_mitigations(["hr-clause"])
    assert with_clause.is_mitigable("purchaser") and with_clause.is_mitigable("place")
    assert not with_clause.is_mitigable("product")
    refused = with_clause.set_mitigable("purchaser", False, "The operator refuses the clause.")
    assert not refused.is_mitigable("purchaser")
    with pytest.raises(ValueError, match="mitigations: unknown mitigation id 'magic'"):
        deal.choose_mitigations(["magic"])


def test_red_flags_and_open_questions_follow_the_answers(deal):
    answered = deal.answer("intended_use", "lawful-interception")
    assert [f.text for f in answered.red_flags()] == [
        "The stated purpose is state access to communications."]
    open_ids = [q.id for q in answered.open_questions()]
    assert "intended_use" not in open_ids and "misuse_potential" in open_ids
    assert "purpose_notes" not in open_ids  # optional


def test_the_country_rating_comes_from_the_indicator_file_with_source_and_year(deal):
    indicators = load_country_indicators(EXAMPLE_CSV)
    placed = deal.answer("destination", "xf", indicators)
    assert placed.answers["destination"] == "XF"
    assert placed.rating("place").computed is Risk.HIGH  # Freedonia: "Not free" in 2024
    assert placed.label_of(find_playbook("export-deal").question("destination")) == \
        "Freedonia (XF)"
    status = [f for f in placed.country_facts["destination"]
              if f.indicator == "online-freedom-status"]
    assert [(f.value, f.year) for f in status] == [("Not free", 2024)]  # the latest year
    assert deal.answer("destination", "XF").rating("place").computed is None  # no file
    assert deal.answer("destination", "XS", indicators).rating("place").computed is Risk.LOW


def test_guidance_is_asked_once_per_step_with_the_step_query(deal):
    asked = []

    def find(query):
        asked.append(query)
        return fake_guidance(query)

    fetched = deal.fetch_guidance(find)
    assert asked == [s.guidance_query for s in deal.playbook.steps]
    assert fetched.guidance["product"][0].doc_id == "export-controls"
    fetched.fetch_guidance(find)
    assert len(asked) == len(deal.playbook.steps)  # not asked again without refresh
    fetched.fetch_guidance(find, refresh=True)
    assert len(asked) == 2 * len(deal.playbook.steps)


# --- country indicator files ------------------------------------------------------------

def test_the_shipped_indicator_file_holds_only_fictional_countries():
    text = EXAMPLE_CSV.read_text(encoding="utf-8")
    assert "FICTIONAL" in text.splitlines()[0]
    codes = {r.country_code for r in load_country_indicators(EXAMPLE_CSV).rows}
    assert codes == {"XF", "XS", "XB"}  # user-assigned codes, never a real country


@pytest.mark.parametrize(("text", "problem"), [
    ("country_code,indicator,value,year,source\n", "missing column(s) licence"),
    ("country_code,indicator,value,year,source,licence\nXSY,a,b,2024,s,l\n",
     "line 2: country_code 'XSY' is not a two-letter code"),
    ("# note\ncountry_code,indicator,value,year,source,licence\nXS,a,b,soon,s,l\n",
     "line 3: year 'soon' is not a year"),
    ("country_code,indicator,value,year,source,licence\nXS,a,b,2024,,l\n",
     "line 2: source is empty"),
    ("country_code,indicator,value,year,source,licence\nXS,a,b,2024,s,l\nXS,a,c,2024,s,l\n",
     "line 3: duplicate a for XS in 2024"),
])
def test_a_bad_indicator_file_is_refused_with_file_and_line(text, problem):
    with pytest.raises(IndicatorError) as caught:
        parse_country_indicators(text, "my.csv")
    assert str(caught.value).startswith("my.csv") and problem in str(caught.value)


# --- whole scripted sessions and their reports -----------------------------------------

@pytest.mark.parametrize(("name", "outcome", "title"), [
    ("clearly-fine", Outcome.PROCEED, "Decision: Proceed, with the standard safeguards"),
    ("clearly-no-go", Outcome.NO_GO, "Decision: No-go"),
    ("escalation", Outcome.ESCALATE, "Decision: Escalate to senior management"),
])
def test_the_example_deals_reach_their_decision_and_report_their_guidance(name, outcome, title):
    assessment = run_script(DEALS / f"{name}.yaml", fake_guidance)
    assert assessment.decision().outcome is outcome
    assert assessment.open_questions() == ()
    report = render_markdown(assessment)
    assert f"## {title}" in report
    for step in assessment.playbook.steps:
        assert f"## {step.title}" in report
    assert '**Export controls and cyber-surveillance** (section Catch-all): ' \
           '"What the library says about export licences."' in report
    assert "**GNI Principles** (section Government demands)" in report
    assert NOT_LEGAL_ADVICE in report
    assert f"| Prepared by | {assessment.assessor} | {assessment.created:%Y-%m-%d} |" in report


def test_the_escalation_report_carries_the_override_reason_and_proposed_conditions():
    assessment = run_script(DEALS / "escalation.yaml", fake_guidance)
    decision = assessment.decision()
    assert set(decision.high) == {"Place", "Purchaser"}
    report = render_markdown(assessment)
    assert "| Purchaser | medium | high: Press reports say the operator applied" in report
    assert "### Proposed conditions for senior management" in report
    assert "- Agree a protocol with the purchaser for state demands" in report
    assert "online-freedom-status: Partly free (Fictional Example Index" in report


def test_the_no_go_report_lists_the_red_flags_and_the_reason_for_the_flag():
    report = render_markdown(run_script(DEALS / "clearly-no-go.yaml", fake_guidance))
    assert "- The product is a cyber-surveillance item." in report
    assert "| Purpose | high | none | high | no (The customer refuses any limit" in report


def test_the_html_report_escapes_user_and_library_text(deal):
    hostile = start_assessment(deal.playbook, "<script>alert(1)</script> deal", "Robin")
    cited = hostile.fetch_guidance(
        lambda q: [Citation(1, "doc", "<b>Title</b>", 'He said "<img src=x onerror=y>"')])
    page = render_html(cited)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page and "&lt;img src=x onerror=y&gt;" in page
    assert "<b>Title</b>" not in page and "&lt;b&gt;Title&lt;/b&gt;" in page
    assert "<h2>Sign-off</h2>" in page


def test_an_unfinished_session_reports_no_decision_and_its_open_questions(deal):
    report = render_markdown(deal.answer("ownership", "private"))
    assert "No decision yet: Purpose, Place, Product not rated." in report
    assert "- Purpose - intended use: What is the stated intended use of the system?" in report


def test_a_bad_answers_file_names_the_file_and_the_problem(tmp_path):
    path = tmp_path / "deal.yaml"
    path.write_text("playbook: export-deal\ndeal: D\nassessor: A\nanswers:\n  colour: red\n",
                    encoding="utf-8")
    with pytest.raises(ValueError, match=r"deal.yaml: unknown question 'colour'"):
        run_script(path, fake_guidance)
    path.write_text("playbook: export-deal\ndeal: D\nassessor: A\noverides: {}\n",
                    encoding="utf-8")
    with pytest.raises(ValueError, match=r"deal.yaml: unknown key 'overides'"):
        run_script(path, fake_guidance)


def test_the_same_engine_runs_the_venue_and_posting_playbooks():
    venue = start_assessment(find_playbook("meeting-venue"), "Annual summit", "Robin")
    for dim in venue.playbook.dimensions:
        venue = venue.override(dim.id, "high", "Every consideration is problematic.")
    assert venue.decision().outcome is Outcome.NO_GO
    ticked = venue.choose_mitigations(["venue-clause"])
    assert ticked.decision().outcome is Outcome.NO_GO, "every one high: a tick is not enough"
    claimed = ticked.set_mitigable("safety", True, "The venue clause guarantees access.")
    assert claimed.decision().outcome is Outcome.ESCALATE
    posting = start_assessment(find_playbook("staff-posting"), "Posting to Freedonia", "Robin")
    posting = posting.answer("posting_country", "XF", load_country_indicators(EXAMPLE_CSV))
    assert posting.rating("law").computed is Risk.HIGH  # "Criminalised" in the fictional file
