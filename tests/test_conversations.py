"""Saved conversations and feedback votes, in the deal sessions' database: SQLite by default,
and a real PostgreSQL server (tests/postgres_server.py)."""

from __future__ import annotations

import pytest

from assistant.answer import Answer, AnswerParts, Citation, Passage
from assistant.conversations import ConversationRecords, default_title
from tests.postgres_server import create_database, postgres_url  # noqa: F401

CITED = Answer("Can we sell to the reseller?", "**Bottom line**\n\nNo, not yet [1].",
               (Citation(1, "case-dpi-reseller", "DPI reseller", "Stop the sale.", section="2",
                         passage="Before it. Stop the sale. After it."),),
               parts=AnswerParts(kind="yes_no", direction="no",
                                 bottom_line=("No, not yet [1].",), steps=("Ask [1].",)))
DECLINED = Answer("Best chocolate cake?", "The library does not cover this.", declined=True,
                  passages=(Passage("c1", "meeting-venues", "Venues", "policy", "text"),),
                  nearest=("Venues (section 1)",))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'data' / 'sessions.sqlite'}"
    else:
        url = create_database(request.getfixturevalue("postgres_url"))
    records = ConversationRecords(url)
    yield records
    records.close()


def test_a_conversation_is_saved_turn_by_turn_and_reopens_as_it_was(store):
    cid = store.add_turn(None, "t1", CITED, {"kinds": [], "topics": [], "doc_ids": ["a"]})
    assert store.add_turn(cid, "t2", DECLINED, {}) == cid

    saved = store.load(cid)
    assert saved.title == CITED.question
    assert [t.id for t in saved.turns] == ["t1", "t2"]
    first = saved.turns[0].answer
    assert first.citations == CITED.citations, "quote, place and passage are all kept"
    assert first.parts == CITED.parts and first.text == CITED.text
    assert saved.turns[0].filters["doc_ids"] == ["a"]
    assert saved.turns[1].answer.declined and saved.turns[1].answer.nearest == DECLINED.nearest
    assert [c.id for c in store.list()] == [cid]


def test_a_conversation_can_be_renamed_and_deleted(store):
    older = store.add_turn(None, "o1", CITED, {})
    cid = store.add_turn(None, "t1", CITED, {})
    store.rename(cid, "  Reseller   checks ")
    assert store.load(cid).title == "Reseller checks"
    with pytest.raises(ValueError, match="title"):
        store.rename(cid, "   ")
    assert [c.id for c in store.list()] == [cid, older], "the most recent first"

    store.add_feedback("t1", "down", "Too short", {"question": CITED.question})
    store.delete(cid)
    with pytest.raises(KeyError, match=cid):
        store.load(cid)
    assert [c.id for c in store.list()] == [older]
    (vote,) = store.feedback()
    assert (vote["turn"], vote["rating"], vote["comment"]) == (None, "down", "Too short")


def test_feedback_is_stored_and_exported_as_json_lines(store):
    import json

    store.add_feedback("t1", "up", "", {"question": "q", "settings": {"retrieval_k": 6}})
    store.add_feedback("t1", "down", " Misses the angle. ", {"question": "q"})
    with pytest.raises(ValueError, match="rating"):
        store.add_feedback("t1", "meh", "", {})
    lines = [json.loads(line) for line in store.feedback_jsonl().splitlines()]
    assert [(v["rating"], v["comment"]) for v in lines] == [("up", ""),
                                                           ("down", "Misses the angle.")]
    assert lines[0]["settings"]["retrieval_k"] == 6 and lines[0]["at"].endswith("+00:00")


def test_the_library_gaps_are_the_declined_and_weak_questions_without_who_asked(store):
    from dataclasses import replace

    cid = store.add_turn(None, "t1", CITED, {})
    store.add_turn(cid, "t2", DECLINED, {})
    store.add_turn(cid, "t3", replace(CITED, question="Is the wifi monitored?", weak_match=True,
                                      passages=DECLINED.passages), {})
    gaps = store.gaps()
    assert [(g.question, g.declined) for g in gaps] == [("Best chocolate cake?", True),
                                                        ("Is the wifi monitored?", False)]
    assert gaps[0].nearest_doc_ids == ("meeting-venues",)


def test_a_long_first_question_makes_a_short_title():
    title = default_title("word " * 40)
    assert len(title) <= 82 and title.endswith("…")
    assert default_title("  ") == "Untitled conversation"


def test_a_gap_is_grouped_under_the_topic_of_its_nearest_document_still_in_the_library():
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from assistant.conversations import Gap
    from ui.web.gaps import NO_TOPIC, gap_rows

    docs = [SimpleNamespace(doc_id="meeting-venues", title="Venues", topics=("venues", "events"))]
    at = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    rows = gap_rows((Gap(at, "Cake?", True, ("removed-doc", "meeting-venues")),
                     Gap(at, "Wifi?", False, ("removed-doc",))), docs)
    assert [(r["Question"], r["Outcome"], r["Nearest topic"], r["Month"]) for r in rows] == [
        ("Cake?", "declined", "venues", "2026-11"), ("Wifi?", "weak match", NO_TOPIC, "2026-11")]
