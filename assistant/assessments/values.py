"""The values a person gives an assessment, checked: answers, names, summaries, reasons.

Each check raises ValueError with a message that names the field, which the CLI, the app and
answers files show as it is.
"""

from __future__ import annotations

from typing import Any

from assistant.assessments.playbook_records import Question

MAX_NAME_CHARS = 200
MAX_REASON_CHARS = 2000


def validated_answer(question: Question, value: Any, playbook_id: str) -> str:
    where = f"question {question.id!r} of playbook '{playbook_id}'"
    if question.type == "yesno" and isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, str):
        raise ValueError(f"{where} expects text, got {type(value).__name__} {value!r}")
    if question.type == "text":
        return checked_text(value, where, question.max_chars)
    value = value.strip()
    if question.type == "country":
        code = value.upper()
        if len(code) != 2 or not code.isascii() or not code.isalpha():
            raise ValueError(f"{where} expects a two-letter country code, got {value!r}")
        return code
    if question.type == "yesno":
        value = value.lower()
    if question.option(value) is None:
        choices = ", ".join(o.value for o in question.options)
        raise ValueError(f"{where}: {value!r} is not one of the choices ({choices})")
    return value


def checked_text(value: Any, what: str, limit: int, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} expects text, got {type(value).__name__}")
    value = value.strip()
    if not value and not allow_empty:
        raise ValueError(f"{what} is empty")
    if len(value) > limit:
        raise ValueError(f"{what} is too long ({len(value)} characters; at most {limit})")
    return value


def checked_name(value: Any, what: str) -> str:
    return checked_text(value, what, MAX_NAME_CHARS)


def checked_reason(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"a reason is required for {what}")
    return checked_text(value, f"the reason for {what}", MAX_REASON_CHARS)
