"""Cleaning PDF text: the real GNI Principles come out as whole, quotable sentences."""

from __future__ import annotations

import re
import unicodedata

import pytest

from assistant.library.sentences import split_sentences
from assistant.settings import Settings
from ingest.clean import (
    LIGATURES,
    ZERO_WIDTH,
    clean_pages,
    clean_text,
    drop_footnote_markers,
    drop_running_lines,
    expand_ligatures,
    join_lines,
    strip_invisible,
)
from ingest.pdf import read_pdf_pages

RUNNING_LINES = ("Principles on Freedom of", "Expression and Privacy", "GLOBAL NETWORK INITIATIVE",
                 "As Updated May 2017")


@pytest.fixture(scope="module")
def gni_raw(fixtures_dir) -> list[str]:
    return read_pdf_pages(fixtures_dir / "pdfs" / "real" / "gni-principles.pdf",
                          Settings(_env_file=None).limits)


@pytest.fixture(scope="module")
def gni(gni_raw) -> list[str]:
    return clean_pages(gni_raw)


def sentences(pages: list[str]) -> set[str]:
    """Every sentence the chunker and the answerer would see, without list bullets."""
    return {s.lstrip("• ").strip() for page in pages for s in split_sentences(page)}


# ----- the real GNI Principles PDF


def test_the_raw_extraction_is_noisy_so_the_checks_below_mean_something(gni_raw):
    assert len(gni_raw) == 9
    assert any("\u200b" in page for page in gni_raw)
    assert all("GLOBAL NETWORK INITIATIVE" in page for page in gni_raw[1:])
    assert "\u200b 12 13 \u200b" in gni_raw[4]


def test_no_zero_width_or_control_characters_remain(gni):
    for n, page in enumerate(gni, 1):
        bad = {c for c in page if c in ZERO_WIDTH or c == "\u00a0"
               or (unicodedata.category(c) == "Cc" and c not in "\n\t")}
        assert not bad, f"page {n} keeps {sorted(map(hex, map(ord, bad)))}"


def test_no_ligatures_remain(gni):
    assert not any(lig in page for page in gni for lig in LIGATURES if lig not in "Œœ")


def test_running_header_and_footer_are_gone_from_pages_2_on(gni):
    for n, page in enumerate(gni[1:], 2):
        lines = [ln.strip() for ln in page.split("\n")]
        for running in RUNNING_LINES:
            assert running not in lines, f"page {n} keeps the running line {running!r}"
        assert "GLOBAL NETWORK INITIATIVE" not in page
        assert not page.startswith("Principles on Freedom of Expression and Privacy")
        assert not any(re.fullmatch(r"\d{1,2}", ln) for ln in lines), f"page number on page {n}"


def test_body_text_that_shares_words_with_the_header_is_kept(gni):
    assert "These Global Principles on Freedom of Expression and Privacy" in gni[0]


def test_no_footnote_number_is_glued_into_a_sentence(gni):
    for n, page in enumerate(gni, 1):
        # a number right after a sentence's last word and punctuation: "globally. 1"
        glued = re.findall(r"[a-z][.;:”)] +\d{1,2}(?=[ ,]|$)", page, re.M)
        assert not glued, f"page {n}: footnote markers left in the text: {glued}"
    # markers in the middle of a sentence and a run of three markers after one
    assert "when confronted with government demands, laws and regulations" in gni[2]
    assert re.search(r"parties follow these Principles\.$", gni[4], re.M)


def test_numbered_list_items_are_not_mistaken_for_footnotes(gni):
    assert "ICCPR: 1. Everyone shall have the right to hold opinions without interference." in gni[5]
    assert "ICCPR: 1. No one shall be subjected to arbitrary or unlawful interference" in gni[6]


def test_hyphenated_compounds_stay_whole(gni):
    text = "\n".join(gni)
    for compound in ("multi-stakeholder collaboration", "Inter-American Court",
                     "responsible decision-making"):
        assert compound in text
    assert not re.search(r"[a-z]- [a-z]", text), "a word broken at a line end was not rejoined"


@pytest.mark.parametrize("sentence", [
    # runs over three lines and has footnote markers 8 and 9 after it
    "These restrictions should be consistent with international human rights laws or standards, "
    "the rule of law and be necessary and proportionate for the relevant purpose.",
    # footnote marker 10 sat between "government" and "demands"
    "Participating companies will respect and work to protect the freedom of expression rights "
    "of users when confronted with government demands, laws and regulations to suppress freedom "
    "of expression, remove content or otherwise limit access to communications, ideas and "
    "information in a manner inconsistent with internationally recognized laws and standards.",
    # the first sentence under the running header, with zero-width spaces inside it
    "Participating companies, when implementing these Principles, will always seek to ensure the "
    "safety and liberty of company personnel who may be placed at risk.",
    # followed by three footnote markers at the end of the paragraph
    "When they do not have operational control, participating companies will use best efforts to "
    "ensure that business partners, investments, suppliers, distributors and other relevant "
    "related parties follow these Principles.",
])
def test_whole_sentences_come_out_whole(gni, sentence):
    assert sentence in sentences(gni)


# ----- each cleaning step on small synthetic text


def test_word_hyphenated_across_lines_is_rejoined():
    text = join_lines(["The vendor must assess inter-", "national transfers before it signs."])
    assert text == "The vendor must assess international transfers before it signs."


def test_hyphenated_compound_split_at_a_capital_keeps_its_hyphen():
    text = join_lines(["Cases go to the Inter-", "American Commission on Human Rights."])
    assert text == "Cases go to the Inter-American Commission on Human Rights."


def test_lines_broken_mid_sentence_are_joined_and_paragraphs_kept():
    lines = ["A company should ask for a written order that states",
             "the legal basis of the request before it acts on it.", "",
             "Records of each request are kept for five years."]
    assert join_lines(lines) == (
        "A company should ask for a written order that states the legal basis of the request "
        "before it acts on it.\n\nRecords of each request are kept for five years.")


def test_bullets_start_their_own_paragraph():
    text = join_lines(["The checklist has two items:", "• Ask for the legal basis of the order.",
                       "• Record the request and the reply."])
    assert text.split("\n\n") == ["The checklist has two items:",
                                  "• Ask for the legal basis of the order.",
                                  "• Record the request and the reply."]


def test_ligatures_are_expanded():
    assert expand_ligatures("eﬃcient ﬁnancial ﬂows") == "efficient financial flows"


def test_zero_width_and_control_characters_are_dropped_and_odd_spaces_made_plain():
    dirty = "pri\u200bvacy\u00a0rights\u2009of\x07 users\ufeff\u00ad\n\tnext"
    assert strip_invisible(dirty) == "privacy rights of users\n\tnext"


def test_footnote_markers_are_dropped_but_numbers_in_text_are_kept():
    assert drop_footnote_markers("users.\u200b 2, 3 \u200b The") == "users.  The"
    assert drop_footnote_markers("parties.\u200b 12 13 \u200b \u200b 14 ").strip() == "parties."
    assert drop_footnote_markers("right to privacy.12 The") == "right to privacy. The"
    assert drop_footnote_markers("ICCPR:\u200b 1. Everyone") == "ICCPR:\u200b 1. Everyone"
    assert drop_footnote_markers("in\u200b 2017 the rules") == "in\u200b 2017 the rules"
    assert drop_footnote_markers("Article 19 of the ICCPR") == "Article 19 of the ICCPR"


BODIES = [
    ["Suppliers must respect the privacy of the people whose data they handle.",
     "Each supplier names a person responsible for human rights.",
     "Audits take place every two years, or sooner after a complaint.",
     "Questions for the supplier:",
     "Which government requests did you receive last year?",
     "How did you answer each of them?",
     "Did any request come without a court order?"],
    ["Contracts with resellers include a clause against diversion.",
     "Resellers report the final customer before delivery.",
     "A reseller that refuses loses its discount.",
     "Questions for the supplier:",
     "Who is the final customer of each order?",
     "Has any order gone to a country under sanctions?",
     "Do resellers pass the clause on to their own partners?"],
    ["Complaints can be made in any language, by phone or online.",
     "A complaint gets an answer within thirty days.",
     "The grievance team reports to the board twice a year.",
     "Questions for the supplier:",
     "How many complaints did you receive?",
     "How many led to a change of practice?",
     "Can complaints be made anonymously?"],
    ["The policy is reviewed every three years with outside experts.",
     "Employees are trained on it when they join.",
     "Breaches are handled under the disciplinary code.",
     "Questions for the supplier:",
     "When did you last review your policy?",
     "Who took part in the review?",
     "Was the review published?"],
]


def test_running_header_and_footer_are_removed_from_every_page_after_the_title_page():
    pages = [["Acme Human Rights Policy", "", *body, "", f"Page {i} of 4"]
             for i, body in enumerate(BODIES, 1)]
    cleaned = drop_running_lines(pages)
    # the line "Questions for the supplier:" repeats on every page, but inside the body;
    # on page 1 the repeated top line is the document's title, so it stays there only
    expected = [["Acme Human Rights Policy", *BODIES[0]], *BODIES[1:]]
    assert [[ln for ln in lines if ln.strip()] for lines in cleaned] == expected


def test_on_short_documents_only_page_numbers_are_removed():
    pages = [["Acme Human Rights Policy", "Our first commitment.", "1"],
             ["Acme Human Rights Policy", "Our second commitment.", "Page 2"]]
    assert drop_running_lines(pages) == [["Acme Human Rights Policy", "Our first commitment."],
                                         ["Acme Human Rights Policy", "Our second commitment."]]


def test_clean_pages_puts_the_steps_together():
    raw = ["Acme Policy\nThe com\u00adpany re-\nviews the eﬀects of each sale on\nusers.\u200b 1 \u200b "
           "It reports them yearly.\n1",
           "Acme Policy\nSuppliers sign the code of con-\nduct before their first order.\n2",
           "Acme Policy\nComplaints reach the board\nwithin a month.\u200b 2, 3 \u200b\n3"]
    assert clean_pages(raw) == [
        "Acme Policy\n\nThe company reviews the effects of each sale on users. It reports them yearly.",
        "Suppliers sign the code of conduct before their first order.",
        "Complaints reach the board within a month."]


def test_markdown_and_text_get_light_cleaning_only():
    assert clean_text("Line one\r\nLine\u200b two\rﬁnal - kept\n\n# Heading") == (
        "Line one\nLine two\nfinal - kept\n\n# Heading")
