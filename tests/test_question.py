"""Question understanding without a model, checked against the golden set's own questions."""

from __future__ import annotations

from assistant.question import HOW_TO, LIST, WHAT_IS, YES_NO, asks_for_facts, question_type
from evals.golden_set import load_golden_set

GOLDEN = load_golden_set()
ASKED = GOLDEN.by_category("factual", "dilemma")


def test_every_question_labelled_with_a_verdict_is_read_as_a_yes_no_question():
    labelled = [i for i in ASKED if i.direction]
    misread = [i.question for i in labelled if question_type(i.question) != YES_NO]

    assert len(labelled) >= 30
    assert len(misread) <= len(labelled) // 20, misread  # at most one in twenty


def test_questions_that_ask_for_the_items_of_a_list_are_read_as_list_questions():
    for q in ["What are the seven components of the rights-respecting model for lawful "
              "interception?", "What are the six steps of the OECD Due Diligence Guidance?",
              "What criteria does Guiding Principle 31 set for an effective grievance mechanism?"]:
        assert question_type(q) == LIST, q


def test_what_do_we_do_questions_typed_with_context_are_read_as_how_to():
    for q in ["two cops came to our office asking for a users messages. what do we do",
              "our local staff are getting threatened because we questioned a shutdown order. "
              "what now", "how do we even assess something like this"]:
        assert question_type(q) == HOW_TO, q


def test_a_wh_question_with_should_we_in_it_asks_for_content_not_a_verdict():
    # "Yes." would answer none of these; before, "should we" made them yes/no questions
    for q in ["we've never had a shutdown order but things are getting tense. what should we "
              "have in place before one turns up?",
              "the agency wants a direct feed. what should we actually propose to them instead?",
              "how should our product team review location sharing with LGBTI users in mind?"]:
        assert question_type(q) == HOW_TO, q
    assert question_type("How are US companies allowed to report national security letters?") \
        == WHAT_IS
    assert question_type("the agency wants a direct feed. should we propose something else?") \
        == YES_NO


def test_a_question_for_a_fact_is_read_as_what_is():
    assert question_type("When were the UN Guiding Principles endorsed, and by which body?") \
        == WHAT_IS


def test_a_question_of_fact_asked_within_a_frame_is_still_one():
    for q in ["For how long was the country offline in 2011?",
              "Under the UK Modern Slavery Act, what turnover triggers a statement?",
              "In the Telenor case, who bought the Myanmar business?"]:
        assert asks_for_facts(q, question_type(q)), q
    # A situation with a wh-word in it is not a question of fact.
    q = "for our deal in the region, what should we do about the intercept request"
    assert not asks_for_facts(q, question_type(q))


def test_the_golden_set_has_every_shape_of_question():
    kinds = {question_type(i.question) for i in ASKED}
    assert kinds == {YES_NO, HOW_TO, LIST, WHAT_IS}


def test_a_situation_typed_with_no_question_asks_what_to_do():
    for q in ["the ministry just told us to store every subscriber's location data for five years",
              "regulator wants a copy of every customer's id card scanned by friday"]:
        assert question_type(q) == HOW_TO, q
    # A request for facts still reads as one, question mark or not.
    assert question_type("explain what the 4 Ps are") == WHAT_IS


def test_shorthand_and_informal_verdict_requests_are_read_for_their_shape():
    assert question_type("users flagged wrong takedowns in our app, what shld we do") == HOW_TO
    assert question_type("we want to add face matching to the door cameras, any problem "
                         "with that") == YES_NO


def test_a_verdict_question_asks_for_permission_or_about_a_concern():
    from assistant.question import CONCERN, PERMIT, asks

    for q in ["supplier says the fees are legal there. fine?", "can we ship the routers?",
              "we're ok to sign right?", "so we go ahead?",
              "Is an export licence enough to go ahead with an interception sale?",
              "Does selling off the business unit end our responsibility?",
              "we only sold the boxes, what they do isnt really our problem right?"]:
        assert asks(q) == PERMIT, q
    for q in ["tender wants 5 years of location data kept. red flag?",
              "hr system shows gender identity to local managers. problem?",
              "Is it a problem if local managers can see the records?",
              "is that history our problem once the deal closes",
              "Is corruption in market entry also a human-rights issue?"]:
        assert asks(q) == CONCERN, q
    for q in ["does the LkSG apply to us?", "do we have to answer within three weeks?"]:
        assert asks(q) is None, q


def test_a_question_about_standing_up_to_a_demand_asks_to_resist_it():
    from assistant.question import PERMIT, RESIST, asks

    for q in ["the ministry sent a list of sites to block by tomorrow. can we push back at all?",
              "can we just refuse the shutdown order flat out?",
              "Should an operator refuse a shutdown order outright?",
              "police want the logs without a warrant. are we allowed to say no?"]:
        assert asks(q) == RESIST, q
    # the refusal is someone else's, or a noun: the question still asks whether we may go on
    for q in ["The required export licence was refused but every P is rated low: can we go ahead?",
              "can we drop the human appeal step?"]:
        assert asks(q) == PERMIT, q


def test_the_asking_sentence_decides_not_the_context_typed_before_it():
    from assistant.question import PERMIT, asks

    assert asks("the supplier says its not an issue. can we keep buying from them?") == PERMIT
