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
