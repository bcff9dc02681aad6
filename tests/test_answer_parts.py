"""The structured answer a practitioner reads first: bottom line, steps, watch for, one case."""

from __future__ import annotations

import re

import pytest

from assistant.composition import build_assistant

pytestmark = pytest.mark.slow

POLICE = ("two police officers came to our office for a user's messages and location, no "
          "warrant, nothing in writing. do we hand it over?")
GRIEVANCE = "What makes a grievance mechanism effective?"
MISUSE = "An NGO report says a government customer used our monitoring product against " \
         "journalists. What do we do now?"


@pytest.fixture(scope="module")
def assistant(corpus_library):
    return build_assistant(corpus_library.settings, library=corpus_library)


def test_a_yes_no_dilemma_leads_with_the_librarys_verdict(assistant):
    answer = assistant.answer(POLICE)

    assert answer.text.startswith("**Bottom line**")
    assert answer.parts.kind == "yes-no"
    assert answer.parts.direction == "no"
    assert answer.parts.bottom_line[0].startswith("No")


def test_a_verdict_is_taken_only_from_a_bullet_that_asks_the_same_way_round(assistant):
    # "May we go ahead?" and "Is it a problem?" get opposite verdicts for the same facts: the
    # partner case's "Is corruption also a human-rights issue? Yes." must not answer "ok to sign?".
    permit = assistant.answer("our local partner may be a front for the ruling family but the "
                              "licence deal is lawful. ok to sign with them?")
    concern = assistant.answer("local managers can see which employees are trans in the HR "
                               "system. is that a problem?")

    assert permit.parts.direction == "no", permit.parts.bottom_line
    assert not permit.parts.bottom_line[0].startswith("Yes")
    assert concern.parts.direction == "yes", concern.parts.bottom_line


def test_a_verdict_names_the_library_question_it_answers_unless_it_is_the_users(assistant):
    # "No" to "ok to sign?" is the library's No to whether a lawful licence settles the matter:
    # the reader is told which question the verdict answers, quoted from the cited bullet.
    other = assistant.answer("our local partner may be a front for the ruling family but the "
                             "licence deal is lawful. ok to sign with them?")
    same = assistant.answer("Can we sell lawful-interception capability to a state-owned "
                            "operator in a country with weak courts?")

    asked = other.parts.answers_question
    assert asked and asked.endswith("?") and asked != other.question
    first = next(c for c in other.citations if c.n == 1)
    assert first.quote.startswith(asked)  # the question is quoted with its answer
    assert f"The library's answer to \u201c{asked}\u201d" in other.text
    assert other.to_dict()["parts"]["answers_question"] == asked
    assert other.parts.direction == "no"
    assert same.parts.direction == "yes" and same.parts.answers_question is None


def test_a_no_to_complying_does_not_answer_whether_we_may_push_back(assistant):
    # "Can we just block them quietly? No" is written for complying; asked whether the company
    # may resist the order, that "No" would say the opposite of what the library means.
    answer = assistant.answer("the ministry sent us a list of opposition news sites to block by "
                              "tomorrow, no reasons given. can we push back at all?")

    assert answer.parts.direction != "no", answer.parts.bottom_line


def test_the_steps_are_the_answering_documents_whole_what_to_do_list_in_order(assistant):
    answer = assistant.answer(MISUSE)
    steps = [re.sub(r" \[\d+\]$", "", s) for s in answer.parts.steps]
    source = next(c for c in answer.citations if steps[0] in c.quote)
    listed = [m.group(1) for m in re.finditer(r"^\d+\. (.+)$", "1. " + source.quote, re.M)]

    assert len(steps) >= 3
    assert steps == listed  # the whole list, in the library's order
    assert "What to do" in (source.section or "")


def test_a_list_question_gets_every_item_of_the_list(assistant):
    answer = assistant.answer(GRIEVANCE)
    criteria = ["legitimate", "accessible", "predictable", "equitable", "transparent",
                "rights-compatible", "continuous learning", "engagement and dialogue"]

    assert all(c in answer.text.lower() for c in criteria), answer.text


@pytest.mark.parametrize("question", [POLICE, MISUSE, GRIEVANCE,
                                      "Regulator told us to cut mobile data before the "
                                      "election. do we comply?"])
def test_facts_of_a_case_appear_only_under_that_cases_name(assistant, question):
    answer = assistant.answer(question)
    kinds = {p.doc_id: p.kind for p in answer.passages}
    cases = {c.doc_id for c in answer.citations if kinds.get(c.doc_id) == "case-study"}

    assert len(cases) <= 1
    if cases:
        assert answer.parts.case in {p.title for p in answer.passages if p.doc_id in cases}


@pytest.mark.parametrize("question", [
    "How should we rate the purpose, place, product and purchaser of a telecom export deal?",
    "How do we decide whether to hold our company conference in a country with a poor "
    "human-rights record?"])
def test_a_checklist_comes_from_the_document_that_holds_the_best_passages(assistant, question):
    answer = assistant.answer(question)
    top = [p.doc_id for p in answer.passages[:3]]

    assert answer.parts.checklist
    assert answer.parts.checklist_doc == top[0] and top.count(top[0]) >= 2


def test_no_checklist_is_borrowed_from_a_document_that_barely_leads(assistant):
    answer = assistant.answer("How should we assess the purpose, place, product and purchaser "
                              "of a telecom export deal?")
    top = [p.doc_id for p in answer.passages[:3]]

    assert top.count(top[0]) < 2  # the best passages are spread over documents
    assert not answer.parts.checklist


def test_a_conditional_verdict_is_checked_against_the_figure_the_user_gives(assistant):
    below = assistant.answer("we're a german gmbh with roughly 650 employees and no group "
                             "companies in germany. does the supply chain act LkSG cover us?")
    over = assistant.answer("our german subsidiary has 1,500 employees. does the LkSG apply?")

    assert below.parts.bottom_line[0].startswith("Yes, if")  # the library's rule, cited
    assert below.parts.direction == "no"
    assert "650 employees" in below.text and "on that figure, no" in below.text
    assert below.to_dict()["parts"]["figure_check"] == below.parts.figure_check
    assert over.parts.direction == "yes" and "meets" in over.parts.figure_check


def test_every_part_is_in_the_json_and_rendered_in_the_text(assistant):
    answer = assistant.answer(MISUSE)
    parts = answer.to_dict()["parts"]

    assert parts["bottom_line"] and parts["steps"] and parts["watch_for"]
    for heading in ("**Bottom line**", "**What to do now", "**Watch for / escalate when**"):
        assert heading in answer.text
    assert answer.text.index("**Bottom line**") < answer.text.index("**What to do now")


def test_a_near_domain_question_is_declined_with_the_nearest_documents(assistant):
    answer = assistant.answer("How do we set transfer prices for intra-group services?")

    assert answer.declined and answer.nearest


class QuestionOnlyEmbedder:
    """Embeds questions; fails if anything else (a sentence) is embedded at question time."""

    def __init__(self, real):
        self.real = real
        self.model_id, self.dimension = real.model_id, real.dimension

    def load(self):
        return self

    def embed_query(self, text: str):
        return self.real.embed_query(text)

    def encode(self, texts):
        raise AssertionError(f"embedded at question time: {list(texts)[:2]}")


def test_a_warm_answer_embeds_only_the_question(corpus_library):
    """Sentence and section-question vectors are computed at ingest and read from disk."""
    from assistant.composition import Library

    folder = corpus_library.sentences.folder
    library = Library(corpus_library.settings, client=corpus_library.store.client,
                      embedder=QuestionOnlyEmbedder(corpus_library.embedder))
    strict = build_assistant(corpus_library.settings, library=library)

    assert len(list(folder.glob("*.npz"))) == len(corpus_library.store.documents())
    for question in (POLICE, MISUSE, GRIEVANCE):
        assert strict.answer(question).parts.bottom_line


@pytest.mark.parametrize("question, count, named", [
    ("What are the four Ps used to screen a telecom export?", 4,
     ["Purpose", "Place", "Product", "Purchaser"]),
    ("What are the six considerations for choosing where to hold an event?", 6,
     ["human-rights record", "mission", "local peers",
      "legitimise", "subsidies", "safety threats"]),
])
def test_a_list_question_that_names_a_count_gets_a_list_of_that_length(assistant, question,
                                                                       count, named):
    answer = assistant.answer(question)

    assert answer.parts.kind == "list"
    assert len(answer.parts.steps) == count, answer.text
    assert all(any(n in s for s in answer.parts.steps) for n in named), answer.parts.steps


def test_a_question_of_fact_quotes_its_answering_section_in_the_documents_order(assistant):
    answer = assistant.answer("What does the EU Whistleblower Directive require of an internal "
                              "reporting channel?")
    body = "\n".join(answer.parts.guidance)
    lead = [c for c in answer.citations if "Whistleblower" in (c.section or "")
            and c.quote in body]

    assert "seven days" in body and "three months" in body, body
    assert len(lead) >= 3  # several sentences of the answering section, not one
    assert [c.start for c in lead] == sorted(c.start for c in lead)


def test_a_situation_told_without_a_question_gets_what_to_do(assistant):
    answer = assistant.answer("the ministry just told us to store every subscriber's location "
                              "data for five years")

    assert answer.parts.kind == "how-to"
    assert len(answer.parts.steps) >= 3
    assert answer.parts.bottom_line == answer.parts.steps[:1]


def test_a_related_case_is_quoted_for_what_it_did_not_for_its_disclaimer(assistant):
    answer = assistant.answer(POLICE)

    assert answer.parts.case_lines
    assert not any("not legal advice" in line for line in answer.parts.case_lines)


def test_a_question_of_fact_in_two_parts_gets_the_part_its_best_passage_lacks(assistant):
    # The best passage (who is in scope, since when) is one sub-section; the reply deadline
    # is in the next one.
    answer = assistant.answer("How fast must a company under Norway's Transparency Act reply "
                              "to a member of the public, and since when has the Act applied?")
    body = "\n".join(answer.parts.bottom_line + answer.parts.guidance)

    assert "1 July 2022" in body and "three weeks" in body, answer.text


def _unmarked(lines) -> set[str]:
    return {re.sub(r" \[\d+\]$", "", line) for line in lines}


@pytest.mark.parametrize("question, fact", [
    ("For how many days was Egypt cut off from the internet in 2011?", "five days"),
    ("What did an Egyptian court order against Hosni Mubarak over the 2011 communications "
     "cut?", "540 million"),
])
def test_a_question_of_fact_about_a_case_quotes_the_cases_story_once(assistant, question, fact):
    answer = assistant.answer(question)

    assert fact in answer.text, answer.text
    assert len(answer.parts.case_lines) >= 2
    assert not _unmarked(answer.parts.case_lines) & _unmarked(answer.parts.bottom_line)
