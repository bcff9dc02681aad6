"""The library's changes as people make them (ingest.reviewed), against a real library and
a real SQLite database: the role is checked before anything is read or written, an upload
waits for a second librarian unused, a planted title or a corrupt file is refused by name,
and every step is in the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.access.identity import Refused, User
from assistant.access.records import AccessRecords
from assistant.access.reviews import DocumentReviews
from assistant.access.roles import Role
from ingest import reviewed

ROOT = Path(__file__).resolve().parent.parent
POLICY = b"""---
title: Acme probe sales policy
kind: guidance
---
# Acme probe sales policy

## 1. Probe sales

Acme Networks sells deep packet inspection probes to a state operator only after the Acme
ethics board has voted in favour of that sale.
"""
PLANTED = POLICY.replace(b"Acme probe sales policy",
                         b"UN Guiding Principles on Business and Human Rights")
ANN = User("ann@x.org", "Ann", frozenset({Role.LIBRARIAN}), "sign-in")
BOB = User("bob@x.org", "Bob", frozenset({Role.LIBRARIAN}), "sign-in")
RITA = User("rita@x.org", "Rita", frozenset({Role.READER}), "sign-in")


@pytest.fixture
def setup(make_settings, embedder):
    from assistant.composition import Library
    from ingest.pipeline import ingest

    settings = make_settings()
    library = Library(settings, embedder=embedder)
    assert not ingest(library, [ROOT / "corpus" / "guidance" / "ungp.md"]).failed
    records = AccessRecords(settings.sessions_url)
    yield library, DocumentReviews(records)
    records.close()


def _ids(library) -> list[str]:
    return sorted(d.doc_id for d in library.store.documents())


def test_a_reader_calling_the_library_actions_directly_is_refused_and_logged(setup):
    library, reviews = setup
    before = _ids(library)
    review = reviews.submit("p.md", POLICY, "p", "Acme probe sales policy", ANN, "h")

    for action in (lambda: reviewed.upload(library, reviews, RITA, "x.md", POLICY,
                                           second_person=True),
                   lambda: reviewed.approve(library, reviews, RITA, review.id,
                                            second_person=True),
                   lambda: reviewed.remove_document(library, reviews, RITA, "ungp"),
                   lambda: reviewed.rebuild(library, reviews, RITA)):
        with pytest.raises(Refused, match="needs the librarian role"):
            action()
    assert _ids(library) == before and [r.id for r in reviews.pending()] == [review.id]
    refused = [(e.action, e.allowed) for e in reversed(reviews.records.events())]
    assert refused == [("upload", True), ("upload", False), ("approve", False),
                       ("remove", False), ("rebuild", False)]


def test_an_upload_waits_unused_until_another_librarian_approves_it(setup):
    library, reviews = setup
    waiting = reviewed.upload(library, reviews, ANN, "acme policy.md", POLICY,
                              second_person=True)

    assert waiting.outcome == "pending" and waiting.doc_id == "acme-policy"
    assert "acme-policy" not in _ids(library)  # not in the index: no answer can use it
    (review,) = reviews.pending()
    with pytest.raises(Refused, match="another librarian must approve"):
        reviewed.approve(library, reviews, ANN, review.id, second_person=True)
    done = reviewed.approve(library, reviews, BOB, review.id, second_person=True)

    assert done.outcome == "added" and "acme-policy" in _ids(library)
    assert reviews.approved()["acme-policy"].reviewed_by == BOB.label
    reviewed.remove_document(library, reviews, BOB, "acme-policy")
    assert "acme-policy" not in _ids(library)
    assert reviews.approved_files() == []  # a rebuild will not bring it back


def test_a_planted_title_and_a_corrupt_file_are_refused_by_name(setup):
    library, reviews = setup
    planted = reviewed.upload(library, reviews, ANN, "ungp-summary.md", PLANTED,
                              second_person=False)
    corrupt = reviewed.upload(library, reviews, ANN, "broken.pdf", b"%PDF-1.7\n garbage",
                              second_person=False)
    empty = reviewed.upload(library, reviews, ANN, "empty.md", b"", second_person=False)

    assert planted.outcome == "failed" and "title of the library document 'ungp'" in \
        planted.reason
    assert corrupt.outcome == "failed" and corrupt.reason
    assert empty.outcome == "failed" and empty.reason
    assert _ids(library) == ["ungp"] and not reviews.pending()


def test_a_one_person_install_adds_an_upload_at_once_with_its_provenance(setup):
    library, reviews = setup
    done = reviewed.upload(library, reviews, ANN, "acme-policy.md", POLICY,
                           second_person=False)

    assert done.outcome == "added" and "acme-policy" in _ids(library)
    assert "no second review" in reviews.approved()["acme-policy"].provenance
