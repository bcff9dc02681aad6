"""The decision rule, checked over every combination of ratings, "can be mitigated" claims,
chosen mitigations, required conditions and legal bars for the 4 Ps."""

import re
from functools import cache
from itertools import product
from pathlib import Path

import pytest

from assistant.assessments import decision as rule
from assistant.assessments.decision import Finding, Outcome, Risk, decide

FOUR_PS = ("Purpose", "Place", "Product", "Purchaser")
CLAIMS = (None, True, False)  # not said, "can be mitigated", "cannot be mitigated"
PENDING = "No shipment before the export licence is granted."
REFUSED = "The export licence was refused."


def expected_outcome(findings: dict[str, Finding], required=(), bars=()) -> Outcome:
    """The rule as issue 17 states it, written independently of the implementation."""
    if bars:
        return Outcome.BLOCKED
    risks = [f.risk for f in findings.values()]
    every_high = all(r is Risk.HIGH for r in risks)

    def mitigable(f: Finding) -> bool:
        # when every P is high, only a claim (made with a reason) makes a P mitigable
        return f.claim if f.claim is not None else bool(f.mitigations) and not every_high

    if every_high and not any(mitigable(f) for f in findings.values()):
        return Outcome.NO_GO
    medium_unserved = any(f.risk is Risk.MEDIUM and not (f.mitigations and f.claim is not False)
                          for f in findings.values())
    if Risk.HIGH in risks or medium_unserved:
        return Outcome.ESCALATE
    if Risk.MEDIUM in risks or required:
        return Outcome.PROCEED_WITH_CONDITIONS
    return Outcome.PROCEED


def every_case(dimensions=FOUR_PS, claims=CLAIMS):
    """Every rating x claim x (one mitigation or none) for each dimension."""
    per_dimension = list(product(Risk, claims, (False, True)))
    for combo in product(per_dimension, repeat=len(dimensions)):
        yield {d: Finding(risk, (f"mitigation of {d}",) if chosen else (), claim)
               for d, (risk, claim, chosen) in zip(dimensions, combo, strict=True)}


@cache
def decided() -> list:
    """Every case of the 4 Ps with its decision, worked out once for the tests below."""
    return [(findings, decide(findings)) for findings in every_case()]


def listed(decision, dimension: str) -> bool:
    return any(f"mitigation of {dimension}" in c for c in decision.conditions)


def test_every_combination_of_ratings_claims_and_mitigations_follows_the_rule():
    for findings, decision in decided():
        assert decision.outcome is expected_outcome(findings), findings
    assert len(decided()) == (3 * 3 * 2) ** 4  # 104,976


def test_required_conditions_and_legal_bars_over_every_rating_and_mitigation():
    cases = 0
    for findings in every_case(claims=(None,)):
        for required, bars in product(((), (PENDING,)), ((), (REFUSED,))):
            decision = decide(findings, required, bars)
            assert decision.outcome is expected_outcome(findings, required, bars)
            if bars:
                assert decision.human_rights is expected_outcome(findings, required)
                assert decision.legal_bars == bars and decision.conditions == ()
            elif decision.outcome in (Outcome.PROCEED_WITH_CONDITIONS, Outcome.ESCALATE):
                assert PENDING in decision.conditions if required else True
                assert decision.required == required
            cases += 1
    assert cases == (3 * 2) ** 4 * 4


def test_proceed_with_conditions_carries_a_condition_for_every_medium_dimension():
    seen = 0
    for findings, decision in decided():
        if decision.outcome is not Outcome.PROCEED_WITH_CONDITIONS:
            continue
        seen += 1
        for dim, f in findings.items():
            assert listed(decision, dim) == (f.risk is Risk.MEDIUM), (findings, decision)
    assert seen > 0


def test_escalation_proposes_the_mitigations_of_every_problem_dimension_and_names_the_rest():
    for findings, decision in decided():
        if decision.outcome is not Outcome.ESCALATE:
            continue
        for dim, f in findings.items():
            counts = f.risk is not Risk.LOW and f.mitigations and f.claim is not False
            assert listed(decision, dim) == bool(counts), (findings, decision.conditions)
            assert (dim in decision.unserved) == (f.risk is not Risk.LOW and not counts)
            if f.risk is Risk.HIGH:
                assert dim in decision.reason
        assert decision.recommendation


def test_proceed_no_go_and_blocked_attach_no_conditions():
    for findings, _ in decided()[::7]:  # a legal bar: a spread of cases is enough
        blocked = decide(findings, [PENDING], [REFUSED])
        assert blocked.outcome is Outcome.BLOCKED and blocked.conditions == ()
    for _, decision in decided():
        if decision.outcome in (Outcome.PROCEED, Outcome.NO_GO):
            assert decision.conditions == ()


def test_all_four_medium_with_no_mitigation_goes_to_senior_management():
    decision = decide(dict.fromkeys(FOUR_PS, Finding(Risk.MEDIUM)), [PENDING])
    assert decision.outcome is Outcome.ESCALATE
    assert decision.unserved == FOUR_PS
    assert "rated medium with no chosen mitigation that counts" in decision.reason
    assert decision.conditions == (PENDING,)


def test_ticked_mitigations_do_not_turn_an_all_high_no_go_into_an_escalation():
    ticked = {d: Finding(Risk.HIGH, ("Human-rights clause.",)) for d in FOUR_PS}
    decision = decide(ticked)
    assert decision.outcome is Outcome.NO_GO
    assert "only when the assessor says so with a reason" in decision.reason
    claimed = {**ticked, "Purpose": Finding(Risk.HIGH, ("Feature limits.",), claim=True)}
    assert decide(claimed).outcome is Outcome.ESCALATE


def test_a_high_dimension_that_cannot_be_mitigated_is_named_in_the_recommendation():
    decision = decide({"Purpose": Finding(Risk.HIGH, ("Ship without the interception module.",)),
                       "Place": Finding(Risk.HIGH, claim=False),
                       "Product": Finding(Risk.LOW), "Purchaser": Finding(Risk.LOW)})
    assert decision.outcome is Outcome.ESCALATE
    assert "Place" in decision.recommendation and "Purpose" not in decision.recommendation
    assert decision.conditions == ("Ship without the interception module (for Purpose).",)
    assert decision.unserved == ("Place",)


def test_one_mitigation_serving_two_dimensions_is_one_condition():
    text = "Human-rights clause with a right to end the contract."
    decision = decide({"Purpose": Finding(Risk.MEDIUM, (text,)),
                       "Purchaser": Finding(Risk.MEDIUM, (text,))})
    assert decision.outcome is Outcome.PROCEED_WITH_CONDITIONS
    assert decision.conditions == (
        "Human-rights clause with a right to end the contract (for Purpose and Purchaser).",)


def test_a_pending_licence_turns_proceed_into_proceed_with_that_condition():
    decision = decide(dict.fromkeys(FOUR_PS, Finding(Risk.LOW)), [PENDING])
    assert (decision.outcome, decision.conditions) == (Outcome.PROCEED_WITH_CONDITIONS,
                                                       (PENDING,))


def test_a_legal_bar_is_blocked_and_says_what_the_human_rights_rule_gives():
    decision = decide(dict.fromkeys(FOUR_PS, Finding(Risk.LOW)), legal_bars=[REFUSED])
    assert decision.outcome is Outcome.BLOCKED and decision.human_rights is Outcome.PROCEED
    assert REFUSED in decision.reason and "the 4 Ps rule gives 'proceed'" in decision.recommendation


@pytest.mark.parametrize("dimensions", [("Only",), ("Law", "Safety"),
                                        ("A", "B", "C", "D", "E", "F")])
def test_the_rule_applies_over_whatever_dimensions_a_playbook_declares(dimensions):
    claims = CLAIMS if len(dimensions) < 6 else (None,)  # 6 dimensions: 46,656 cases
    for findings in every_case(dimensions, claims):
        assert decide(findings).outcome is expected_outcome(findings)


def test_outcomes_have_the_documented_values():
    assert [o.value for o in Outcome] == ["proceed", "proceed-with-conditions", "escalate",
                                          "no-go", "blocked"]


def test_a_decision_needs_a_rated_dimension():
    with pytest.raises(ValueError, match="at least one"):
        decide({})


def test_the_readme_and_the_module_state_the_rule_in_the_order_it_applies():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### The decision rule")[1].split("\n### ")[0]
    in_order = ["blocked", "no-go", "escalate", "proceed-with-conditions", "proceed"]
    assert re.findall(r"^\|[^|\n]+\| `([a-z-]+)`", section, re.M) == in_order
    assert re.findall(r"^\|[^|\n]+\| `([a-z-]+)`", rule.__doc__, re.M) == in_order
    assert "(3 x 3 x 2)^4 = 104,976 cases" in section  # what the first test above counts
