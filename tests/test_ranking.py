"""How the candidates are found and ranked: a misspelt word, the nearest sentence, document
evidence."""

from __future__ import annotations

from assistant.library.bm25 import KeywordIndex
from assistant.library.diversity import lift_documents
from assistant.library.records import StoredChunk
from assistant.library.sentence_rank import SentenceRanker
from assistant.library.sentence_vectors import SentenceIndex
from assistant.library.sentences import split_sentences


def chunk(cid: str, doc_id: str, text: str = "Text.") -> StoredChunk:
    return StoredChunk(cid, text, {"doc_id": doc_id, "doc_hash": f"h-{doc_id}"})


def test_a_document_two_of_whose_sections_match_has_its_best_one_lifted():
    chunks = {c.chunk_id: c for c in (chunk("a1", "a"), chunk("a2", "a"), chunk("b1", "b"))}
    fused = {"a1": 0.040, "a2": 0.030, "b1": 0.045}

    lift_documents(fused, chunks, 0.5)

    assert max(fused, key=fused.get) == "a1"  # 0.040 + 0.5 x 0.030 beats 0.045
    assert fused["a2"] == 0.030  # only the best chunk is lifted
    assert fused["b1"] == 0.045  # a document with one candidate gains nothing


def test_the_lift_is_bounded_by_the_documents_own_best_score():
    """Many weak chunks of one document do not outweigh a strong chunk of another."""
    chunks = {f"a{i}": chunk(f"a{i}", "a") for i in range(20)} | {"b1": chunk("b1", "b")}
    fused = {f"a{i}": 0.02 for i in range(20)} | {"b1": 0.035}

    lift_documents(fused, chunks, 0.5)

    assert max(fused, key=fused.get) == "b1"


def encoded_at_ingest(index: SentenceIndex, *chunks: StoredChunk) -> None:
    for c in chunks:
        index.sentence_vectors(c.metadata["doc_hash"], split_sentences(c.text))


def test_candidates_rank_by_their_sentence_nearest_the_question(tmp_path, embedder):
    filler = ("The company was founded in a coastal city. Its offices have open-plan floors. "
              "Staff meet on Mondays to plan the week. ")
    answering = chunk("answers", "a", filler + "When police ask for user data without a court "
                      "order, ask for a written demand that cites its legal basis.")
    other = chunk("other", "b", "Export licences are issued by the trade ministry. Dual-use "
                  "items are listed in an annex. Licences last two years.")
    empty = chunk("empty", "c", "   ")
    sentences = SentenceIndex(tmp_path, embedder)
    encoded_at_ingest(sentences, answering, other)
    question = embedder.encode(["cops want a user's data with no warrant, what now"])[0]

    ranked = SentenceRanker(sentences).rank(question, {c.chunk_id: c for c in (other, answering,
                                                                                  empty)})

    assert ranked == ["answers", "other"]  # a chunk with no sentence is not ranked


def test_a_chunk_not_encoded_at_ingest_is_left_out_not_encoded_while_the_user_waits(
        tmp_path, embedder):
    known = chunk("known", "a", "Ask for the demand in writing.")
    unknown = chunk("unknown", "b", "Police want the data now. Refuse an informal request.")
    sentences = SentenceIndex(tmp_path, embedder)
    encoded_at_ingest(sentences, known)
    question = embedder.encode(["police want data"])[0]

    assert SentenceRanker(sentences).rank(question, {"known": known, "unknown": unknown}) \
        == ["known"]
    assert sentences.stored_vectors("h-b", split_sentences(unknown.text)) is None

def keyword_index(*texts: str) -> KeywordIndex:
    return KeywordIndex([chunk(f"c{i}", f"d{i}", t) for i, t in enumerate(texts)])


def test_a_misspelt_word_finds_the_chunk_that_spells_it_right():
    index = keyword_index("The export credit agency sends a questionnaire on human rights.",
                          "Sanctions screening of the buyer and its owners.")

    hits = index.search("what will the questionaire ask", 5)

    assert [h.index for h in hits] == [0]


def test_a_short_word_or_a_longer_form_of_a_library_word_is_not_respelt():
    index = keyword_index("Police ask for a written demand.", "A ban on the sale of spyware.")

    assert index.query_terms("cope") == {"cope"}  # one slip from "cops", but short
    assert index.query_terms("banner") == {"banner"}  # not a misspelt "ban"
    assert index.query_terms("sanctiosn") == {"sanctiosn"}  # the library has no "sanctions"
    assert "demand" in index.query_terms("demnad")
