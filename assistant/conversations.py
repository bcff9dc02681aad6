"""Where Ask conversations and feedback votes are kept: the deal sessions' database.

Three tables beside the sessions: `conversations` (a title and when it changed),
`conversation_turns` (one question and its answer, with the filters in force) and
`feedback` (a thumb and an optional comment on one answer, with the settings in force so a
reviewer can reproduce what the user saw). A conversation belongs to the signed-in user who
started it (`owner`; None without sign-in) and only they see it; feedback and the
library-gap view name no one. Deleting a conversation deletes
its turns; the feedback given on them stays (it carries its own copy of the question and
answer), unlinked from the deleted turns.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from assistant.answer import Answer, AnswerParts, Citation
from assistant.assessments.sessions import _create_sqlite_folder, _utc

TITLE_CHARS = 80


class _Base(DeclarativeBase):
    pass


class _ConversationRow(_Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    owner: Mapped[str | None] = mapped_column(String(320), nullable=True, index=True)


class _TurnRow(_Base):
    __tablename__ = "conversation_turns"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    question: Mapped[str] = mapped_column(Text)
    declined: Mapped[bool] = mapped_column(default=False)
    weak_match: Mapped[bool] = mapped_column(default=False)
    answer: Mapped[dict] = mapped_column(JSON)
    filters: Mapped[dict] = mapped_column(JSON)


class _FeedbackRow(_Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    turn_id: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rating: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="")
    record: Mapped[dict] = mapped_column(JSON)


@dataclass(frozen=True)
class SavedTurn:
    """One question and its answer as the conversation keeps it."""

    id: str
    answer: Answer
    filters: dict
    at: datetime


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    created: datetime
    updated: datetime
    turns: tuple[SavedTurn, ...] = field(default=())


@dataclass(frozen=True)
class Gap:
    """A question the library could not answer well: declined, or answered under the
    weak-match warning; with the documents nearest to it (no one's name)."""

    at: datetime
    question: str
    declined: bool
    nearest_doc_ids: tuple[str, ...]


class ConversationRecords:
    """Save, list, reopen, rename, delete and export conversations; store feedback votes."""

    def __init__(self, url: str):
        _create_sqlite_folder(url)
        self.engine = create_engine(url)
        _Base.metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def add_turn(self, conversation_id: str | None, turn_id: str, answer: Answer,
                 filters: dict, owner: str | None = None) -> str:
        """Save one answered question; a conversation is created with its first turn (titled
        by its question). Returns the conversation's id. `owner` (every method's) is the
        signed-in user id, None in an install without sign-in: a conversation is its
        owner's alone."""
        now = datetime.now(UTC)
        with Session(self.engine) as db, db.begin():
            row = db.get(_ConversationRow, conversation_id) if conversation_id else None
            if row is not None and row.owner != owner:  # never into another's conversation
                row, conversation_id = None, None
            if row is None:
                conversation_id = conversation_id or uuid.uuid4().hex[:12]
                row = _ConversationRow(id=conversation_id, title=default_title(answer.question),
                                       created_at=now, updated_at=now, owner=owner)
                db.add(row)
                db.flush()  # the conversation row before the turn that refers to it
            position = db.scalar(select(func.count()).where(
                _TurnRow.conversation_id == conversation_id))
            db.add(_TurnRow(id=turn_id, conversation_id=conversation_id, position=position,
                            at=now, question=answer.question, declined=answer.declined,
                            weak_match=answer.weak_match, answer=answer_record(answer),
                            filters=dict(filters)))
            row.updated_at = now
        return conversation_id

    def list(self, owner: str | None = None) -> tuple[Conversation, ...]:
        """The owner's conversations (without their turns), the most recently changed first."""
        with Session(self.engine) as db:
            rows = db.scalars(select(_ConversationRow)
                              .where(_ConversationRow.owner.is_(None) if owner is None
                                     else _ConversationRow.owner == owner)
                              .order_by(_ConversationRow.updated_at.desc()))
            return tuple(Conversation(r.id, r.title, _utc(r.created_at), _utc(r.updated_at))
                         for r in rows)

    def load(self, conversation_id: str, owner: str | None = None) -> Conversation:
        with Session(self.engine) as db:
            row = self._row(db, conversation_id, owner)
            turns = db.scalars(select(_TurnRow).where(_TurnRow.conversation_id == row.id)
                               .order_by(_TurnRow.position))
            return Conversation(row.id, row.title, _utc(row.created_at), _utc(row.updated_at),
                                tuple(SavedTurn(t.id, restore_answer(t.answer), t.filters,
                                                _utc(t.at)) for t in turns))

    def rename(self, conversation_id: str, title: str, owner: str | None = None) -> None:
        title = " ".join(title.split())
        if not title:
            raise ValueError("title: a conversation needs a title; nothing was changed")
        with Session(self.engine) as db, db.begin():
            self._row(db, conversation_id, owner).title = title[:200]

    def delete(self, conversation_id: str, owner: str | None = None) -> None:
        """Delete the conversation and its turns; feedback on them stays, unlinked."""
        with Session(self.engine) as db, db.begin():
            row = self._row(db, conversation_id, owner)
            turns = select(_TurnRow.id).where(_TurnRow.conversation_id == row.id)
            db.execute(update(_FeedbackRow).where(_FeedbackRow.turn_id.in_(turns))
                       .values(turn_id=None))
            db.execute(delete(_TurnRow).where(_TurnRow.conversation_id == row.id))
            db.delete(row)

    def add_feedback(self, turn_id: str, rating: str, comment: str, record: dict) -> None:
        if rating not in ("up", "down"):
            raise ValueError(f"rating: {rating!r} is neither 'up' nor 'down'")
        with Session(self.engine) as db, db.begin():
            db.add(_FeedbackRow(turn_id=turn_id, at=datetime.now(UTC), rating=rating,
                                comment=comment.strip(), record=record))

    def feedback(self) -> list[dict]:
        """Every vote, oldest first: when, the thumb, the comment and the recorded context."""
        with Session(self.engine) as db:
            rows = db.scalars(select(_FeedbackRow).order_by(_FeedbackRow.id))
            return [{**r.record, "at": _utc(r.at).isoformat(timespec="seconds"),
                     "turn": r.turn_id, "rating": r.rating, "comment": r.comment}
                    for r in rows]

    def feedback_jsonl(self) -> str:
        return "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in self.feedback())

    def gaps(self) -> tuple[Gap, ...]:
        """The saved questions that were declined or answered under the weak-match warning,
        oldest first."""
        with Session(self.engine) as db:
            rows = db.execute(select(_TurnRow.at, _TurnRow.question, _TurnRow.declined,
                                     _TurnRow.answer)
                              .where(_TurnRow.declined | _TurnRow.weak_match)
                              .order_by(_TurnRow.at))
            return tuple(Gap(_utc(at), q, declined, tuple(a.get("nearest_doc_ids") or ()))
                         for at, q, declined, a in rows)

    def _row(self, db: Session, conversation_id: str, owner: str | None = None
             ) -> _ConversationRow:
        row = db.get(_ConversationRow, conversation_id)
        if row is None or row.owner != owner:  # another's is as good as missing
            raise KeyError(f"no conversation with id {conversation_id!r}")
        return row


def default_title(question: str) -> str:
    """A conversation's first title: its first question, cut at a word near 80 characters."""
    text = " ".join(question.split())
    if len(text) <= TITLE_CHARS:
        return text or "Untitled conversation"
    return text[:TITLE_CHARS].rsplit(" ", 1)[0] + " …"


def answer_record(answer: Answer) -> dict:
    """What a saved turn keeps of an answer: all a surface shows (the passages themselves are
    not kept, only the documents they came from)."""
    nearest_docs = list(dict.fromkeys(p.doc_id for p in answer.passages))
    return {"question": answer.question, "text": answer.text, "declined": answer.declined,
            "mode": answer.mode, "notice": answer.notice, "weak_match": answer.weak_match,
            "unsupported": list(answer.unsupported), "nearest": list(answer.nearest),
            "citations": [asdict(c) for c in answer.citations],
            "parts": asdict(answer.parts) if answer.parts else None,
            "nearest_doc_ids": nearest_docs}


def restore_answer(record: dict) -> Answer:
    parts = record.get("parts")
    if parts:
        parts = AnswerParts(**{k: tuple(v) if isinstance(v, list) else v
                               for k, v in parts.items()})
    return Answer(record["question"], record["text"],
                  tuple(Citation(**c) for c in record.get("citations") or ()),
                  declined=bool(record.get("declined")), mode=record.get("mode", "extractive"),
                  notice=record.get("notice"), unsupported=tuple(record.get("unsupported") or ()),
                  weak_match=bool(record.get("weak_match")),
                  nearest=tuple(record.get("nearest") or ()), parts=parts)


def open_conversations(settings) -> ConversationRecords:
    """The conversation records of the settings' database (the deal sessions' one)."""
    return ConversationRecords(settings.sessions_url)
