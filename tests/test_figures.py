"""A "Yes, if at least N" bottom line checked against the figure the user typed."""

from __future__ import annotations

import pytest

from assistant.figures import check, figures, threshold

LKSG = ("Yes, if the subsidiary has its seat or a branch in Germany: the law covers companies "
        "with at least 1,000 employees in Germany.")
MSA = "Yes, if the organisation carries on business in the UK and has a turnover of GBP 36 " \
      "million or more, including the turnover of its subsidiaries."


@pytest.mark.parametrize("text, value, unit", [
    ("about 800 employees", 800, "employees"),
    ("1,200 staff in germany", 1200, "employees"),
    ("turnover is around 20m GBP", 20e6, "GBP"),
    ("we turn over £40m", 40e6, "GBP"),
    ("maybe 3 million monthly users", 3e6, "users"),
    ("revenue of AUD 80 million", 80e6, "AUD"),
])
def test_a_figure_is_read_with_its_unit_and_scale(text, value, unit):
    (fig, _, _), = figures(text)
    assert (fig.value, fig.unit) == (value, unit)


def test_a_number_without_a_unit_is_not_a_figure():
    assert figures("the order names 30 websites and cites article 12") == []
    assert [f.text for f, _, _ in figures("3 complaints in 2024 from 12 users")] == ["12 users"]


def test_only_a_conditional_yes_sets_a_threshold():
    assert threshold(LKSG).value == 1000
    assert threshold(MSA).unit == "GBP"
    assert threshold("No. The law covers companies with at least 1,000 employees.") is None
    assert threshold("Yes, if it has 1,000 employees in Germany.") is None  # not a minimum


def test_a_figure_below_the_threshold_turns_the_verdict_to_no_and_says_what_to_check():
    result = check("our german entity has about 800 employees. does the LkSG apply?", LKSG)

    assert not result.met
    assert "800 employees" in result.line() and "1,000 employees" in result.line()
    assert "on that figure, no" in result.line()
    assert "group companies" in result.line()


def test_a_figure_at_or_over_the_threshold_meets_it_and_keeps_the_other_conditions():
    result = check("we turn over £40m in the uk. do we need a statement?", MSA)

    assert result.met
    assert "other conditions still apply" in result.line()


@pytest.mark.parametrize("question", [
    "does the LkSG apply to our german entity?",  # no figure
    "we have 3 million users. does the LkSG apply?",  # another unit
    "800 employees in berlin and 1,400 employees in munich: does the LkSG apply?",  # which one?
])
def test_no_check_without_exactly_one_figure_in_the_thresholds_unit(question):
    assert check(question, LKSG) is None


def test_an_llm_reply_with_a_conditional_verdict_is_checked_the_same_way():
    from assistant.llm.parts import read_parts

    reply = f"**Bottom line**\n{LKSG} [1]\n\n**What to do now**\n1. Count the staff. [2]"
    parts = read_parts("we have 800 employees in germany. does the LkSG apply?", reply)

    assert parts.direction == "no" and "800 employees" in parts.figure_check
