"""Which sentences the answer may quote on their own (assistant.reading.stands_alone)."""

from __future__ import annotations

import pytest

from assistant.reading import stands_alone


@pytest.mark.parametrize("sentence", [
    "See Annex A for an illustrative definition of Rule of Law.",
    "Refer to the implementation guidelines for the detailed steps a company takes.",
    "For more information on remedy, read the guidance published by the working group.",
    "The detailed criteria are set out in the guidance, see annex B of the report.",
])
def test_a_sentence_that_only_points_elsewhere_is_not_quoted_as_an_answer(sentence):
    assert not stands_alone(sentence)


@pytest.mark.parametrize("sentence", [
    "Seeking the order in writing is the first step before acting on any demand.",
    "Companies should see that the request names its legal basis before they act.",
])
def test_a_sentence_that_merely_contains_the_word_see_still_stands_alone(sentence):
    assert stands_alone(sentence)
