"""The retriever holds arrays for every chunk and reads the text of the few it needs by id."""

from __future__ import annotations

import pytest

from assistant.composition import build_assistant
from assistant.library import chunk_table
from assistant.library.bm25 import read_table
from assistant.library.chunk_table import ChunkTable
from assistant.library.store import ChunkBatch, DocumentRecord, LibraryStore, open_client
from assistant.settings import StoreSettings

WORDS = ("export licence end user", "police request court order", "network shutdown election",
         "grievance mechanism users", "facial recognition safe city")


def small_library(tmp_path, documents: int = 4, per_doc: int = 6) -> LibraryStore:
    store = LibraryStore(open_client(StoreSettings(tmp_path, "t", None)), "t")
    for d in range(documents):
        doc_id, h = f"doc-{d}", f"h{d}"
        texts = [f"{WORDS[(d + i) % len(WORDS)]} paragraph {i} of document {d}"
                 for i in range(per_doc)]
        store.write_document(
            DocumentRecord(doc_id, f"Document {d}", "guidance", f"{doc_id}.md", h,
                           chunks=per_doc),
            ChunkBatch([f"{doc_id}:{h}:{i}" for i in range(per_doc)], texts,
                       [[1.0, float(d), float(i), 0.5] for i in range(per_doc)],
                       [{"doc_id": doc_id, "doc_hash": h, "ordinal": i,
                         "section": f"{i // 2}. Part {i // 2}"} for i in range(per_doc)]))
    return store


def test_a_chunk_read_by_id_is_the_chunk_the_store_holds_whatever_the_cache_size(tmp_path):
    store = small_library(tmp_path)
    stored = {c.chunk_id: c for c in store.committed_chunks()}
    table = ChunkTable.read(store.committed_chunks(), store.chunks_by_id, cached=3)

    assert len(table) == len(stored) == 24
    for i in [*range(len(table)), 0, 23, 5]:  # more than the cache holds, then some again
        ch = table[i]
        assert (ch.chunk_id, ch.text, ch.metadata) == (
            stored[ch.chunk_id].chunk_id, stored[ch.chunk_id].text, stored[ch.chunk_id].metadata)
        assert table.doc_id(i) == ch.metadata["doc_id"]
    assert [c.chunk_id for c in table.load([7, 2, 7])] == [table.chunk_id(i) for i in (7, 2, 7)]
    assert len(table._cache) <= 3, "the table kept more chunks than its cache holds"


def test_the_keyword_index_over_a_table_ranks_as_over_the_chunk_list(tmp_path):
    from assistant.library.bm25 import KeywordIndex

    store = small_library(tmp_path)
    listed = KeywordIndex(list(store.committed_chunks()))
    table_index = read_table(tmp_path / "cache", "v1", store.committed_chunks,
                             store.chunks_by_id)
    again = read_table(tmp_path / "cache", "v1", store.committed_chunks, store.chunks_by_id)
    for query in ("police court order", "election shutdown", "document 3 recognition"):
        expected = [(listed.chunks[h.index].chunk_id, h.score) for h in listed.search(query, 5)]
        for index in (table_index, again):  # built, then from the cache
            assert [(index.chunks[h.index].chunk_id, h.score)
                    for h in index.search(query, 5)] == expected
    only = listed.search("police court order", 5, allowed_docs=["doc-2"])
    assert [h.index for h in table_index.search("police court order", 5, ["doc-2"])] == \
        [h.index for h in only]


def test_a_chunk_removed_after_the_table_was_read_comes_back_without_text(tmp_path):
    store = small_library(tmp_path)
    table = ChunkTable.read(store.committed_chunks(), store.chunks_by_id, cached=0)
    gone = table.chunk_id(0)
    store.remove(table.doc_id(0))

    assert (table[0].chunk_id, table[0].text, table[0].metadata["doc_id"]) == (gone, "", "doc-0")


@pytest.mark.slow
def test_a_library_larger_than_the_cache_answers_as_one_held_in_memory(corpus_library,
                                                                      monkeypatch):
    """The starter library with a cache of 16 chunks: every passage and answer is the same."""
    questions = ["The police want a user's data without a court order; what should we do?",
                 "Do we need an export licence to sell deep packet inspection equipment abroad?",
                 "What should a grievance mechanism for users of our platform look like?"]
    held = build_assistant(corpus_library.settings, library=corpus_library)
    expected = [held.answer(q) for q in questions]
    monkeypatch.setattr(chunk_table, "CACHED", 16)
    small = build_assistant(corpus_library.settings, library=corpus_library)
    for q, want in zip(questions, expected, strict=True):
        got = small.answer(q)
        assert got.text == want.text
        assert [(c.doc_id, c.quote) for c in got.citations] == \
            [(c.doc_id, c.quote) for c in want.citations]
        assert [p.chunk_id for p in got.passages] == [p.chunk_id for p in want.passages]
    index = small.retriever.index
    assert len(index.chunks._cache) <= 16 < len(index.chunks)
