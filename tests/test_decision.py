"""The decision rule, checked over every combination of ratings and mitigation flags."""

from itertools import product

import pytest

from assistant.assessments.decision import Decision, Outcome, Risk, decide

FOUR_PS = ("Purpose", "Place", "Product", "Purchaser")


def expected_outcome(ratings: dict[str, Risk], mitigable: dict[str, bool]) -> Outcome:
    """The rule as the issue states it, written independently of the implementation."""
    levels = list(ratings.values())
    if levels.count(Risk.HIGH) == len(levels) and True not in mitigable.values():
        return Outcome.NO_GO
    if Risk.HIGH in levels:
        return Outcome.ESCALATE
    if Risk.MEDIUM in levels:
        return Outcome.PROCEED_WITH_CONDITIONS
    return Outcome.PROCEED


def every_case(dimensions: tuple[str, ...]):
    for risks in product(Risk, repeat=len(dimensions)):
        for flags in product((False, True), repeat=len(dimensions)):
            yield dict(zip(dimensions, risks, strict=True)), dict(zip(dimensions, flags,
                                                                       strict=True))


def decide_with_one_mitigation_each(ratings, mitigable) -> Decision:
    return decide(ratings, mitigable, {d: [f"mitigation of {d}"] for d in ratings})


def test_every_combination_of_the_four_ps_follows_the_rule():
    cases = list(every_case(FOUR_PS))
    assert len(cases) == 3**4 * 2**4
    for ratings, mitigable in cases:
        decision = decide_with_one_mitigation_each(ratings, mitigable)
        assert decision.outcome is expected_outcome(ratings, mitigable), (ratings, mitigable)


@pytest.mark.parametrize("dimensions", [("Only",), ("Law", "Safety"),
                                        ("A", "B", "C", "D", "E", "F")])
def test_the_rule_applies_over_whatever_dimensions_a_playbook_declares(dimensions):
    for ratings, mitigable in every_case(dimensions):
        assert decide(ratings, mitigable).outcome is expected_outcome(ratings, mitigable)


def test_conditions_are_the_mitigations_of_the_medium_dimensions_only():
    for ratings, mitigable in every_case(FOUR_PS):
        decision = decide_with_one_mitigation_each(ratings, mitigable)
        if decision.outcome is not Outcome.PROCEED_WITH_CONDITIONS:
            continue
        for dim, risk in ratings.items():
            listed = any(f"mitigation of {dim}" in c for c in decision.conditions)
            assert listed == (risk is Risk.MEDIUM), (ratings, decision.conditions)


def test_escalation_proposes_the_mitigations_of_every_problematic_dimension():
    for ratings, mitigable in every_case(FOUR_PS):
        decision = decide_with_one_mitigation_each(ratings, mitigable)
        if decision.outcome is not Outcome.ESCALATE:
            continue
        for dim, risk in ratings.items():
            listed = any(f"mitigation of {dim}" in c for c in decision.conditions)
            assert listed == (risk is not Risk.LOW)
            if risk is Risk.HIGH:
                assert dim in decision.reason
        assert decision.recommendation


def test_proceed_and_no_go_attach_no_conditions():
    for ratings, mitigable in every_case(FOUR_PS):
        decision = decide_with_one_mitigation_each(ratings, mitigable)
        if decision.outcome in (Outcome.PROCEED, Outcome.NO_GO):
            assert decision.conditions == ()


def test_a_high_dimension_that_cannot_be_mitigated_is_named_in_the_recommendation():
    decision = decide({"Purpose": Risk.HIGH, "Place": Risk.HIGH, "Product": Risk.LOW,
                       "Purchaser": Risk.LOW},
                      {"Purpose": True, "Place": False, "Product": True, "Purchaser": True},
                      {"Purpose": ["Ship without the interception module."]})
    assert decision.outcome is Outcome.ESCALATE
    assert "Place" in decision.recommendation and "Purpose" not in decision.recommendation
    assert "Ship without the interception module (for Purpose)." in decision.conditions
    assert "Place: no mitigation chosen yet and none identified." in decision.conditions


def test_all_four_high_but_one_mitigable_is_escalated_not_refused():
    ratings = dict.fromkeys(FOUR_PS, Risk.HIGH)
    flags = {**dict.fromkeys(FOUR_PS, False), "Product": True}
    assert decide(ratings, flags).outcome is Outcome.ESCALATE
    assert decide(ratings, dict.fromkeys(FOUR_PS, False)).outcome is Outcome.NO_GO


def test_a_medium_dimension_without_a_mitigation_is_flagged_among_the_conditions():
    decision = decide({"Purpose": Risk.MEDIUM, "Place": Risk.LOW},
                      {"Purpose": True, "Place": False})
    assert decision.outcome is Outcome.PROCEED_WITH_CONDITIONS
    assert decision.conditions == ("Purpose: no mitigation chosen yet; agree one before signing.",)


def test_one_mitigation_serving_two_dimensions_is_one_condition():
    text = "Human-rights clause with a right to end the contract."
    decision = decide({"Purpose": Risk.MEDIUM, "Purchaser": Risk.MEDIUM},
                      {"Purpose": True, "Purchaser": True},
                      {"Purpose": [text], "Purchaser": [text]})
    assert decision.conditions == (
        "Human-rights clause with a right to end the contract (for Purpose and Purchaser).",)


def test_outcomes_have_the_documented_values():
    assert [o.value for o in Outcome] == ["proceed", "proceed-with-conditions", "escalate",
                                          "no-go"]


def test_flags_must_cover_exactly_the_rated_dimensions():
    with pytest.raises(ValueError, match="do not match"):
        decide({"Purpose": Risk.LOW}, {"Place": True})
    with pytest.raises(ValueError, match="at least one"):
        decide({}, {})
