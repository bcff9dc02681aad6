"""Shorthand typed in a hurry finds the guidance written in full words."""

from __future__ import annotations

import pytest

from assistant.library.bm25 import KeywordIndex
from assistant.library.shorthand import spelt_out
from assistant.library.store import StoredChunk

LIBRARY = [
    StoredChunk("sanctions:1", "A human-rights review cannot clear a party on a sanctions list; "
                "ownership by a listed person extends the sanctions.", {"doc_id": "sanctions"}),
    StoredChunk("shutdowns:1", "When a network shutdown order arrives, ask for it in writing.",
                {"doc_id": "shutdowns"}),
    StoredChunk("venues:1", "Check the venue's record before booking a conference hotel.",
                {"doc_id": "venues"}),
]


@pytest.mark.parametrize(("question", "found"), [
    ("buyer is majority owned by an SDN, can HR sign off?", "sanctions"),
    ("the ministry rang and said turn off mobile data in two cities tonight", "shutdowns"),
])
def test_a_shorthand_question_finds_the_passage_that_spells_it_out(question, found):
    index = KeywordIndex(LIBRARY)

    as_typed = [LIBRARY[h.index].metadata["doc_id"] for h in index.search(question, 3)]
    assert as_typed[:1] != [found]  # the words as typed do not find it first ...
    hits = index.search(spelt_out(question), 3)
    assert LIBRARY[hits[0].index].metadata["doc_id"] == found  # ... spelt out, it comes first


def test_the_question_keeps_its_own_words_and_each_expansion_comes_once():
    words = spelt_out("govt wants LI on the govt network")

    assert words.startswith("govt wants LI on the govt network")
    assert words.count("government") == 1 and "lawful interception" in words


def test_an_abbreviation_that_is_also_a_name_or_a_word_is_expanded_only_in_capitals():
    assert spelt_out("Li from sales asked about the dpa clause") == \
        "Li from sales asked about the dpa clause"
    assert "data protection authority" in spelt_out("she went to the DPA first")
