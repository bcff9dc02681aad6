"""What the assistant answers from the starter library: cited, grounded, declining the rest."""

from __future__ import annotations

import re

import pytest

from assistant.answer import ANSWERS, DECLINE, LEGAL_NOTE, Answer
from assistant.composition import build_assistant
from assistant.engine import QuestionError
from assistant.library.retriever import Filters

pytestmark = pytest.mark.slow

FOUR_PS = "How should we assess the purpose, place, product and purchaser of a telecom export deal?"
POLICE = "The police want a user's data without a court order; what should we do?"
OUT_OF_SCOPE = ["What is the capital of France?", "How do I reset my laptop password?",
                "Best recipe for chocolate cake?"]
IN_SCOPE = [FOUR_PS, POLICE,
            "The government has ordered us to shut down mobile internet before the election.",
            "Should we hold our developer conference in a country that criminalises LGBTI people?"]
VARIED = [
    FOUR_PS,
    POLICE,
    "Do we need an export licence to sell deep packet inspection equipment abroad?",
    "A reseller will not tell us who the end user of our network appliances is. What now?",
    "The government has ordered us to shut down mobile internet before the election.",
    "Should we hold our developer conference in a country that criminalises LGBTI people?",
    "How do we judge how severe a human-rights impact is and which to address first?",
    "What should a grievance mechanism for users of our platform look like?",
    "We are bidding for a safe-city contract with facial recognition for the police.",
    "What are the UN Guiding Principles' expectations of companies on due diligence?",
    "We are posting an employee to a country where same-sex relationships are a crime.",
]
POINT = re.compile(r"^(?:- |\d{1,2}\. )?(?P<sentence>.+) \[(?P<n>\d+)\]$")
# The line under a verdict that names the library question it answers (quoted, uncited).
ASKED = re.compile(rf"^\*{ANSWERS} \u201c(?P<question>.+)\u201d\*$")


@pytest.fixture(scope="module")
def assistant(corpus_library):
    return build_assistant(corpus_library.settings, library=corpus_library)


def cited_docs(answer: Answer) -> set[str]:
    return {c.doc_id for c in answer.citations}


def flat(text: str) -> str:
    return " ".join(text.split())


def is_fixed_line(line: str) -> bool:
    """Connecting text the answerer writes itself: part headings, the legal note, blanks."""
    return not line.strip() or line == LEGAL_NOTE or line.startswith("**")


def test_a_four_ps_question_cites_the_four_ps_framework(assistant):
    answer = assistant.answer(FOUR_PS)

    assert not answer.declined
    assert "four-ps-framework" in cited_docs(answer), [c.doc_id for c in answer.citations]


def test_a_police_request_without_a_court_order_cites_the_gni_principles(assistant):
    answer = assistant.answer(POLICE)

    assert not answer.declined
    assert "gni-principles" in cited_docs(answer), [c.doc_id for c in answer.citations]


@pytest.mark.parametrize("question", OUT_OF_SCOPE)
def test_questions_the_library_does_not_cover_are_declined(assistant, question):
    answer = assistant.answer(question)

    assert answer.declined
    assert answer.text.startswith(DECLINE)
    assert answer.citations == ()
    assert "\n- " in answer.text  # the nearest documents, so the user knows where to look


@pytest.mark.parametrize("question", IN_SCOPE)
def test_questions_the_library_covers_are_answered_with_citations(assistant, question):
    answer = assistant.answer(question)

    assert not answer.declined
    assert answer.text.startswith("**Bottom line**")
    assert answer.citations


@pytest.mark.parametrize("question", [
    "How do we reimburse hotel costs for staff visiting a client?",
    "How do we set transfer prices for intra-group software licences?",
    "Do we need a cookie banner on our marketing website under GDPR?",
])
def test_a_question_that_only_shares_words_with_the_library_is_declined(assistant, question):
    """Near-domain questions: "transfer", "hotel", "GDPR" appear in the library, but nothing in
    it addresses them, so the assistant says so rather than quoting passages beside the point."""
    answer = assistant.answer(question)

    assert answer.declined and answer.nearest and answer.citations == ()


@pytest.mark.parametrize("question", IN_SCOPE)
def test_a_question_the_library_covers_carries_no_weak_match_warning(assistant, question):
    answer = assistant.answer(question)

    assert not answer.weak_match


@pytest.mark.parametrize("question", VARIED)
def test_every_sentence_of_an_extractive_answer_is_quoted_from_the_passage_it_cites(
        assistant, question):
    answer = assistant.answer(question, mode="extractive")
    by_number = {c.n: c for c in answer.citations}

    assert not answer.declined
    points = 0
    for line in answer.text.splitlines():
        if is_fixed_line(line):
            continue
        if asked := ASKED.match(line):  # quoted with the verdict under the bottom line's marker
            assert any(flat(c.quote).startswith(flat(asked["question"]))
                       for c in answer.citations), line
            continue
        point = POINT.match(line)
        assert point, f"a line that is neither fixed text nor a cited point: {line!r}"
        citation = by_number.get(int(point["n"]))
        assert citation, f"[{point['n']}] names no citation: {line!r}"
        assert flat(point["sentence"]) in flat(citation.passage), (line, citation.doc_id)
        points += 1
    assert points >= 2


def test_the_same_question_gets_the_same_answer(assistant):
    first, second = assistant.answer(POLICE), assistant.answer(POLICE)

    assert first.text == second.text
    assert first.citations == second.citations


def test_a_follow_up_question_is_read_in_the_context_of_the_conversation(assistant):
    export = assistant.answer("We plan to export deep packet inspection equipment to a telecom "
                              "operator abroad; what should we check?")
    follow_up = assistant.answer("What about if the buyer is a reseller?", history=[export])
    retrieved = [(p.doc_id, p.section or "") for p in follow_up.passages]

    assert not follow_up.declined
    assert any(d == "case-dpi-reseller" or "resellers" in s.lower() for d, s in retrieved[:2])
    # "the buyer" is the buyer of the exported equipment, not the buyer of a business being sold
    assert "case-forced-intercept-exit" not in {d for d, _ in retrieved}


def test_the_legal_reminder_comes_with_export_licence_questions_only(assistant):
    licence = assistant.answer("Do we need an export licence to sell interception equipment "
                               "to a government agency abroad?")
    venue = assistant.answer("Which city should host our developer conference, given the "
                             "human-rights record of the candidate countries?")

    assert LEGAL_NOTE in licence.text
    assert not venue.declined
    assert LEGAL_NOTE not in venue.text


@pytest.mark.parametrize("question", ["", "   \n\t ", "\x00\x07\x1b"])
def test_an_empty_question_is_refused_with_a_clear_message(assistant, question):
    with pytest.raises(QuestionError, match="type a question"):
        assistant.answer(question)


def test_a_100_kb_question_is_answered_from_its_beginning_with_a_notice(assistant):
    question = POLICE + " " + "Please also consider the wider context of the request. " * 1900

    assert len(question) > 100_000
    answer = assistant.answer(question)

    assert answer.notice and "first" in answer.notice and "characters" in answer.notice
    assert len(answer.question) <= assistant.settings.max_question_chars
    assert not answer.declined and answer.citations


@pytest.mark.parametrize(("question", "outcome"), [
    ("\x00\x1b[31mThe police\x07 want a user's data\x7f without a court order\x08; what now?",
     "answered"),
    ("警察在没有法院命令的情况下要求提供用户数据，我们该怎么办？", "declined"),
    ("الشرطة تطلب بيانات مستخدم دون أمر من المحكمة. ماذا نفعل؟", "declined"),
    # Only the English words match, and only loosely: answered, under the weak-match warning.
    ("Полиция требует данные пользователя без решения суда export licence court order",
     "answered loosely"),
    ("🚓🚓 police 📱 data ✋ court order ❓", "answered"),
])
def test_control_characters_and_other_scripts_are_cleaned_then_answered_or_declined(
        assistant, question, outcome):
    """The English library answers what it can match and declines, citing nothing, what it
    cannot (the model and the library are English)."""
    answer = assistant.answer(question)

    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", answer.question)
    got = ("declined" if answer.declined else
           "answered loosely" if answer.weak_match else "answered")
    assert got == outcome
    assert bool(answer.citations) == (outcome != "declined")
    assert answer.text


def test_a_kind_filter_keeps_the_answer_to_case_studies(assistant):
    answer = assistant.answer("A reseller will not tell us who the end user of our network "
                              "appliances is. What now?", filters=Filters(kinds=("case-study",)))
    kinds = {d: r.kind for d, r in assistant.retriever.documents.items()}

    assert answer.passages and not answer.declined
    assert {p.kind for p in answer.passages} == {"case-study"}
    assert {kinds[c.doc_id] for c in answer.citations} == {"case-study"}, \
        [(c.n, c.doc_id) for c in answer.citations]


@pytest.mark.parametrize("question,case,guidance", [
    ("During nationwide protests the authorities invoked emergency powers under the telecom law "
     "and ordered us to suspend mobile service across the country. What should we do?",
     "case-egypt-2011-shutdown", ("shutdowns-content-restriction", "4")),
    ("A vendor sold a monitoring centre to a state operator before a disputed election and "
     "protesters were later arrested. What should we do now?",
     "case-iran-2009-monitoring-centre", ("four-ps-framework", "")),
])
def test_a_dilemma_told_as_a_case_gets_the_case_and_the_guidance_it_applies(assistant, question,
                                                                            case, guidance):
    """The case's front matter `applies` names the guidance sections it puts into practice;
    they join the candidates, so the top five hold the case and the general guidance."""
    top = assistant.retrieve(question).passages[:5]
    assert case in {p.doc_id for p in top}
    doc_id, number = guidance
    assert any(p.doc_id == doc_id and (p.section or "").startswith(number) for p in top), \
        [(p.doc_id, p.section) for p in top]
