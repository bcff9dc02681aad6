"""The store's query sees committed versions only, and an ingest in progress takes no slots."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from assistant.library.store import ChunkBatch, DocumentRecord, LibraryStore, open_client
from assistant.settings import StoreSettings


def unit(v) -> list[float]:
    v = np.asarray(v, dtype=np.float32)
    return (v / np.linalg.norm(v)).tolist()


def batch(doc_id: str, doc_hash: str, vectors: list[list[float]]) -> ChunkBatch:
    ids = [f"{doc_id}:{doc_hash}:{i}" for i in range(len(vectors))]
    return ChunkBatch(ids, [f"{doc_id} chunk {i}" for i in range(len(vectors))], vectors,
                      [{"doc_id": doc_id, "doc_hash": doc_hash, "ordinal": i}
                       for i in range(len(vectors))])


def test_chunks_of_an_ingest_in_progress_take_no_candidate_slots(tmp_path):
    store = LibraryStore(open_client(StoreSettings(tmp_path, "t", None)), "t")
    query = unit([1, 0, 0, 0])
    far = [unit([0.1 * i, 1, 0, 0]) for i in range(1, 6)]
    store.write_document(DocumentRecord("policy", "Policy", "policy", "p.md", "v1", chunks=5),
                         batch("policy", "v1", far))
    # Another ingest is half-way, as `write_document` leaves it before its commit: a new
    # document and a new version of the policy, their chunks (nearer the question than
    # anything committed) written, their records still pending.
    policy = store.document("policy")
    store._put_record(replace(policy, status="pending", pending_hash="v2"))
    store._put_record(DocumentRecord("new-doc", "New", "policy", "n.md", "", status="pending",
                                     pending_hash="n1"))
    for doc_id, h in (("new-doc", "n1"), ("policy", "v2")):
        b = batch(doc_id, h, [query] * 8)
        store.chunks.upsert(ids=b.ids, documents=b.texts, embeddings=b.vectors,
                            metadatas=b.metadatas)
    reader = LibraryStore(store.client, "t")  # what a reader opening the library now sees

    hits = reader.query(query, 3)
    assert len(hits) == 3, "the pending chunks crowded out committed ones"
    assert {(h.metadata["doc_id"], h.metadata["doc_hash"]) for h in hits} == {("policy", "v1")}
    assert reader.query(query, 3, doc_ids=["new-doc"]) == []


def test_a_removed_or_replaced_document_never_answers(tmp_path):
    """Chunks left behind by a removal or a new version (a crash between the record's write and
    the chunks' deletion) are nearer the question than anything else, and still never answer."""
    store = LibraryStore(open_client(StoreSettings(tmp_path, "t", None)), "t")
    query = unit([1, 0, 0, 0])
    far = [unit([0.1 * i, 1, 0, 0]) for i in range(1, 6)]
    store.write_document(DocumentRecord("policy", "Policy", "policy", "p.md", "v1", chunks=5),
                         batch("policy", "v1", [query] * 5))
    store.write_document(DocumentRecord("gone", "Gone", "policy", "g.md", "g1", chunks=5),
                         batch("gone", "g1", [query] * 5))
    store.write_document(DocumentRecord("other", "Other", "policy", "o.md", "o1", chunks=5),
                         batch("other", "o1", far))
    assert {h.metadata["doc_id"] for h in store.query(query, 3)} <= {"policy", "gone"}
    # policy v2 committed, its v1 chunks not yet deleted; "gone" lost its record, not its chunks
    v2 = batch("policy", "v2", [unit([2, 1, 0, 0])])
    store.chunks.upsert(ids=v2.ids, documents=v2.texts, embeddings=v2.vectors,
                        metadatas=v2.metadatas)
    store._put_record(DocumentRecord("policy", "Policy", "policy", "p.md", "v2", chunks=1))
    store.records.delete(ids=["gone"])
    reader = LibraryStore(store.client, "t")

    hits = reader.query(query, 3)
    assert [(h.metadata["doc_id"], h.metadata["doc_hash"]) for h in hits] == [
        ("policy", "v2"), ("other", "o1"), ("other", "o1")]
    assert reader.query(query, 3, doc_ids=["gone"]) == []
    assert all(h.metadata["doc_hash"] != "v1" for h in reader.query(query, 3, doc_ids=["policy"]))


def test_the_library_version_follows_every_write_even_when_it_is_reused_between_queries(tmp_path):
    """Each query asks the store for the library's version; on local disk the answer is reused
    while Chroma's files are unchanged. A write by another reader of the same folder (here a
    second store object, as an ingest in another process would be) must still show at once."""
    import time

    client = open_client(StoreSettings(tmp_path, "t", None))
    reader, writer = LibraryStore(client, "t"), LibraryStore(client, "t")
    v = [unit([1, 0, 0, 0])]
    writer.write_document(DocumentRecord("a", "A", "policy", "a.md", "h1", chunks=1),
                          batch("a", "h1", v))
    first = reader.version()
    time.sleep(1.2)  # the files settle: from here the reader reuses its answer
    assert reader.version() == reader.version() == first
    writer.write_document(DocumentRecord("a", "A", "policy", "a.md", "h2", chunks=1),
                          batch("a", "h2", v))  # a new version of the same document
    time.sleep(1.2)  # asked well after the write, when the files have settled again
    second = reader.version()
    assert second != first
    assert writer.remove("a")
    assert reader.version() not in (first, second)  # asked at once
    assert reader.documents() == []


def test_dense_search_is_broad_enough_to_return_the_same_nearest_chunks_every_time(tmp_path):
    # At Chroma's default breadth (ef_search 100) a question's 30 nearest chunks were not the
    # same in every process; a library made before that was found is widened when opened.
    from assistant.library.store import SEARCH_EF

    client = open_client(StoreSettings(tmp_path, "t", None))
    old = client.get_or_create_collection("t-chunks", metadata={"hnsw:space": "cosine"},
                                          embedding_function=None)
    assert old.configuration_json["hnsw"]["ef_search"] < SEARCH_EF
    LibraryStore(client, "t")
    assert client.get_collection("t-chunks").configuration_json["hnsw"]["ef_search"] == SEARCH_EF
    fresh = open_client(StoreSettings(tmp_path / "new", "n", None))
    LibraryStore(fresh, "n")
    assert fresh.get_collection("n-chunks").configuration_json["hnsw"]["ef_search"] == SEARCH_EF
