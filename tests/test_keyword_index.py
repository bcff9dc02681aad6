"""Keyword search: word families match, the on-disk cache cannot run code, a full disk is
survivable, and a section's own questions are searched with its text."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from assistant.library.bm25 import KeywordIndex, load_or_build, tokenize
from assistant.library.store import StoredChunk


def chunk(cid: str, text: str, **meta) -> StoredChunk:
    return StoredChunk(cid, text, {"doc_id": cid.split(":")[0], "title": "", **meta})


CHUNKS = [
    chunk("a:1", "The Guiding Principles set out a process for assessing impacts."),
    chunk("b:1", "National laws on data retention differ; each law sets its own period."),
    chunk("c:1", "Staff should ask for a written demand.",
          questions="cops want user data no warrant what now"),
    chunk("d:1", "An unrelated note on meeting rooms and catering."),
]


@pytest.mark.parametrize(("a", "b"), [("principle", "principles"), ("process", "processes"),
                                      ("assess", "assessing"), ("law", "laws"), ("use", "uses")])
def test_word_families_share_one_term(a, b):
    assert tokenize(a) == tokenize(b)


def test_a_query_in_another_form_of_the_word_finds_the_chunk():
    index = KeywordIndex(CHUNKS)

    assert index.chunks[index.search("principle processes assess", 1)[0].index].chunk_id == "a:1"
    assert index.chunks[index.search("laws", 1)[0].index].chunk_id == "b:1"


def test_a_sections_questions_are_searched_with_its_text():
    index = KeywordIndex(CHUNKS)
    hits = index.search("cops asking for user data without a warrant", 2)

    assert index.chunks[hits[0].index].chunk_id == "c:1"


def test_the_cache_is_reused_and_a_planted_pickle_is_never_loaded(tmp_path: Path):
    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    (tmp_path / "keyword-index.pkl").write_bytes(pickle.dumps(("v1", Boom())))
    first = load_or_build(tmp_path, "v1", lambda: CHUNKS)
    calls = []
    second = load_or_build(tmp_path, "v1", lambda: calls.append(1) or CHUNKS)

    assert not (tmp_path / "pwned").exists()
    assert second.terms == first.terms and (second.docs == first.docs).all()
    assert calls == [1]  # the chunks come from the store; only the arrays from the cache


def test_a_damaged_or_stale_cache_is_rebuilt(tmp_path: Path):
    load_or_build(tmp_path, "v1", lambda: CHUNKS)
    (tmp_path / "keyword-index.npz").write_bytes(b"not an archive")
    rebuilt = load_or_build(tmp_path, "v1", lambda: CHUNKS)
    newer = load_or_build(tmp_path, "v2", lambda: CHUNKS[:2])

    assert rebuilt.search("laws", 1)
    assert len(newer) == 2


def test_a_cache_that_cannot_be_written_still_gives_a_working_index(tmp_path: Path, caplog):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the cache folder should be")  # every write fails

    index = load_or_build(blocker / "cache", "v1", lambda: CHUNKS)

    assert index.search("laws", 1)
    assert "could not be written" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no temp file left behind


def test_postings_and_scores_are_those_of_textbook_bm25_over_the_corpus():
    """The flat-array build gives each term its chunks in order with their counts, and a
    search's scores are BM25's (k1=1.2, b=0.75), with a document filter only zeroing others."""
    import math
    from collections import Counter

    from tests.conftest import CORPUS

    chunks = []
    for p in sorted(CORPUS.rglob("*.md"))[:15]:
        text = p.read_text()
        chunks += [chunk(f"{p.stem}:{i}", text[i:i + 900]) for i in range(0, len(text), 700)]
    index = KeywordIndex(chunks)
    counts = [Counter(tokenize(c.text)) for c in chunks]
    for term, t in list(index.terms.items())[::25]:
        lo, hi = index.offsets[t], index.offsets[t + 1]
        stored = zip(index.docs[lo:hi], index.tfs[lo:hi], strict=True)
        assert [(int(d), float(f)) for d, f in stored] == \
            [(i, float(c[term])) for i, c in enumerate(counts) if term in c]

    query = "human rights due diligence for a government surveillance contract"
    avg = sum(sum(c.values()) for c in counts) / len(counts)

    def bm25(c: Counter) -> float:
        total = 0.0
        for term in set(tokenize(query)):
            df = sum(term in other for other in counts)
            if term in c:
                idf = math.log(1 + (len(counts) - df + 0.5) / (df + 0.5))
                norm = 1.2 * (1 - 0.75 + 0.75 * sum(c.values()) / avg)
                total += idf * c[term] * 2.2 / (c[term] + norm)
        return total

    hits = index.search(query, 10)
    # the index adds its float32 weights in another order than this sum: equal to 1e-3
    assert [h.score for h in hits] == pytest.approx(
        sorted((bm25(c) for c in counts), reverse=True)[:10], abs=1e-3)
    some = {chunks[h.index].metadata["doc_id"] for h in hits[::3]}
    only = index.search(query, 10, allowed_docs=some)
    assert only == [h for h in index.search(query, len(chunks))
                    if chunks[h.index].metadata["doc_id"] in some][:10]


def test_a_search_returns_only_matching_chunks_best_first_and_equal_ones_in_library_order():
    """Only the best n are ranked (not the whole library): the order must still be the full
    ranking's, chunks that share no word with the query never appear, and ties keep their
    order in the library, so the same question gives the same list every time."""
    same = "Ask the authority for a written legal basis."
    chunks = [chunk(f"d{i}:1", same if i % 3 == 0 else f"Note {i} on meeting rooms.")
              for i in range(30)]
    chunks.append(chunk("x:1", "A written legal basis, written."))
    index = KeywordIndex(chunks)

    hits = index.search("written legal basis", 5)
    assert [chunks[h.index].chunk_id for h in hits] == ["x:1", "d0:1", "d3:1", "d6:1", "d9:1"]
    assert hits[0].score > hits[1].score == hits[4].score
    everything = index.search("written legal basis", 100)
    assert [chunks[h.index].chunk_id for h in everything] == \
        ["x:1"] + [f"d{i}:1" for i in range(0, 30, 3)]
    assert index.search("catering", 5) == []
