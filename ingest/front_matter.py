"""A Markdown file's YAML front matter, read as untrusted input: bounded, type-checked, capped.

YAML can make a few hundred bytes stand for gigabytes: an anchor (`&a [x, x]`) and aliases to
it (`[*a, *a]`), nested a few levels, expand into billions of items once anything walks or
prints them. Front matter here is a handful of plain `key: value` lines, so anchors and aliases
are refused outright, before anything is built from them, and every field has a type and a
size limit. A file that breaks a rule fails with a message naming the field; other files of
the same ingest go in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import yaml

MAX_BYTES = 32_000  # the starter library's largest front matter is under 1,500 bytes
MAX_KEYS = 40
# field: the longest text it may hold, in characters
TEXT_LIMITS = {"id": 120, "title": 300, "kind": 40, "publisher": 300, "url": 2000,
               "original_title": 300, "summary": 2000}
MAX_TOPICS, MAX_TOPIC_CHARS = 30, 60
MAX_OTHER_CHARS = 2000  # keys this app does not use: scalars only, kept short
SECTION = re.compile(r"^\d{1,2}(\.\d{1,2})?$")
MAX_SECTIONS, MAX_QUESTIONS, QUESTION_CHARS = 40, 12, (3, 300)
MAX_LINKS = 8  # `applies`: documents a file may name
DOC_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,119}$")
DELIMITED = re.compile(r"^---[ \t]*\n(.*?)\n---[ \t]*(?:\n|$)", re.S)


class FrontMatterError(ValueError):
    """Front matter that cannot be used; the message says which field and why."""


@dataclass(frozen=True)
class FrontMatter:
    """The fields ingest uses, checked; empty values where the file gives none."""

    id: str = ""
    title: str = ""
    kind: str = ""
    topics: tuple[str, ...] = ()
    publisher: str = ""
    year: int | None = None
    url: str = ""
    summary: str = ""
    # section number ("1", "4.2") -> questions that section answers, in the asker's words
    questions: dict[str, list[str]] = field(default_factory=dict)
    # document id -> the numbers of its sections this document applies ([] for the whole)
    applies: dict[str, list[str]] = field(default_factory=dict)


def split_front_matter(text: str) -> tuple[dict, str]:
    """The front matter (between `---` lines at the top) as a plain mapping, and the body.

    Raises FrontMatterError for front matter that is not closed, too large, uses anchors or
    aliases, is not valid YAML, or is not a mapping.
    """
    if not text.startswith("---"):
        return {}, text
    m = DELIMITED.match(text)
    if not m:
        raise FrontMatterError("front matter starts with '---' but has no closing '---' line")
    raw = m.group(1)
    if len(raw.encode("utf-8", "replace")) > MAX_BYTES:
        raise FrontMatterError(f"front matter is over {MAX_BYTES // 1000} kB; it should be a few "
                               "'key: value' lines")
    try:
        _refuse_references(raw)
        meta = yaml.safe_load(raw) or {}
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" at line {where.line + 2}" if where else ""
        problem = getattr(err, "problem", None)
        raise FrontMatterError(f"front matter is not valid YAML{line}"
                               + (f": {problem}" if problem else "")) from None
    except RecursionError:
        raise FrontMatterError("front matter is nested too deeply") from None
    if not isinstance(meta, dict):
        raise FrontMatterError("front matter must be a set of 'key: value' lines")
    return meta, text[m.end():]


def _refuse_references(raw: str) -> None:
    """Refuse anchors (&name) and aliases (*name) from the token stream, before composing:
    composing is where shared references multiply."""
    for token in yaml.scan(raw, Loader=yaml.SafeLoader):
        if isinstance(token, yaml.AnchorToken | yaml.AliasToken):
            kind = "an anchor (&)" if isinstance(token, yaml.AnchorToken) else "an alias (*)"
            raise FrontMatterError(f"front matter uses {kind} at line {token.start_mark.line + 2}; "
                                   "YAML anchors and aliases are not allowed, write each value "
                                   "out")


def check_front_matter(meta: dict, kinds: set[str]) -> FrontMatter:
    """The fields of `meta`, each of its type and within its limits; `kinds` are those allowed."""
    if len(meta) > MAX_KEYS:
        raise FrontMatterError(f"front matter has {len(meta)} keys; the limit is {MAX_KEYS}")
    for key, value in meta.items():
        if not isinstance(key, str):
            raise FrontMatterError(f"front matter key {_show(key)} is not a name")
        if key not in TEXT_LIMITS and key not in ("topics", "year", "questions", "applies"):
            _check_other(key, value)
    text = {key: _text(meta, key, limit) for key, limit in TEXT_LIMITS.items()}
    if text["kind"] and text["kind"] not in kinds:
        raise FrontMatterError(f"unknown kind '{text['kind']}' in front matter "
                               f"(one of: {', '.join(sorted(kinds))})")
    return FrontMatter(id=text["id"], title=text["title"], kind=text["kind"],
                       topics=_topics(meta.get("topics")), publisher=text["publisher"],
                       year=_year(meta.get("year")), url=text["url"], summary=text["summary"],
                       questions=_questions(meta.get("questions")),
                       applies=_applies(meta.get("applies")))


def _text(meta: dict, key: str, limit: int) -> str:
    value = meta.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float | date):
        raise FrontMatterError(f"'{key}' in front matter must be text, not {_kind(value)}")
    text = " ".join(str(value).split())
    if len(text) > limit:
        raise FrontMatterError(f"'{key}' in front matter is {len(text)} characters; the limit "
                               f"is {limit}")
    return text


def _topics(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [t for t in (t.strip() for t in value.split(",")) if t]
    if not isinstance(value, list):
        raise FrontMatterError(f"'topics' in front matter must be a list, not {_kind(value)}")
    if len(value) > MAX_TOPICS:
        raise FrontMatterError(f"'topics' in front matter has {len(value)} topics; the limit "
                               f"is {MAX_TOPICS}")
    topics = []
    for t in value:
        if not isinstance(t, str) or not t.strip():
            raise FrontMatterError(f"each of 'topics' in front matter must be a word or two, "
                                   f"not {_kind(t)}")
        if len(t.strip()) > MAX_TOPIC_CHARS:
            raise FrontMatterError(f"a topic in front matter is {len(t.strip())} characters; "
                                   f"the limit is {MAX_TOPIC_CHARS}")
        topics.append(" ".join(t.split()))
    return tuple(dict.fromkeys(topics))


def _year(value) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1000 <= value <= 2999:
        raise FrontMatterError(f"'year' in front matter must be a year like 2011, not "
                               f"{_show(value)}")
    return value


def _mapping(value, key: str, what: str, counted: str, limit: int) -> dict:
    """A field that maps keys to lists, checked for its type and its size."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FrontMatterError(f"'{key}' in front matter must map {what}, not {_kind(value)}")
    if len(value) > limit:
        raise FrontMatterError(f"'{key}' in front matter {counted.format(n=len(value))}; the "
                               f"limit is {limit}")
    return value


def _questions(value) -> dict[str, list[str]]:
    """`questions`: section number -> the questions that section answers."""
    value = _mapping(value, "questions", "section numbers to lists of questions",
                     "has {n} sections", MAX_SECTIONS)
    out: dict[str, list[str]] = {}
    low, high = QUESTION_CHARS
    for key, items in value.items():
        if isinstance(key, float):
            raise FrontMatterError(f"'questions' in front matter: write the section number "
                                   f"{key} in quotes ('{key}'); YAML reads it as a number")
        section = str(key) if isinstance(key, int) and not isinstance(key, bool) else key
        if not isinstance(section, str) or not SECTION.match(section):
            raise FrontMatterError(f"'questions' in front matter: {_show(key)} is not a section "
                                   "number like '4' or '4.2'")
        if not isinstance(items, list):
            raise FrontMatterError(f"'questions' in front matter: section {section} must have a "
                                   f"list of questions, not {_kind(items)}")
        if len(items) > MAX_QUESTIONS:
            raise FrontMatterError(f"'questions' in front matter: section {section} has "
                                   f"{len(items)} questions; the limit is {MAX_QUESTIONS}")
        questions = []
        for q in items:
            text = " ".join(q.split()) if isinstance(q, str) else None
            if text is None or not low <= len(text) <= high:
                what = (f"{len(text)} characters" if text is not None else _kind(q))
                raise FrontMatterError(f"'questions' in front matter: a question of section "
                                       f"{section} is {what}; each must be text of {low} to "
                                       f"{high} characters")
            questions.append(text)
        out[section] = questions
    return out


def _applies(value) -> dict[str, list[str]]:
    """`applies`: the id of another document -> the numbers of its sections that this one
    applies (a case study naming the guidance it puts into practice)."""
    value = _mapping(value, "applies", "document ids to lists of section numbers",
                     "names {n} documents", MAX_LINKS)
    out: dict[str, list[str]] = {}
    for doc_id, sections in value.items():
        if not isinstance(doc_id, str) or not DOC_ID.match(doc_id):
            raise FrontMatterError(f"'applies' in front matter: {_show(doc_id)} is not a "
                                   "document id like 'ungp'")
        sections = [] if sections is None else sections
        if not isinstance(sections, list) or len(sections) > MAX_SECTIONS:
            raise FrontMatterError(f"'applies' in front matter: {doc_id} must have a list of "
                                   f"at most {MAX_SECTIONS} section numbers, not "
                                   f"{_kind(sections)}")
        numbers = [str(s) if isinstance(s, int) and not isinstance(s, bool) else s
                   for s in sections]
        bad = next((s for s in numbers if not isinstance(s, str) or not SECTION.match(s)), None)
        if bad is not None:
            raise FrontMatterError(f"'applies' in front matter: {doc_id}: {_show(bad)} is not "
                                   "a section number like \"4\" or \"4.2\" (in quotes)")
        out[doc_id] = numbers
    return out


def _check_other(key: str, value) -> None:
    """A key this app does not use: allowed, as a short scalar (nothing that can grow)."""
    if isinstance(value, list | dict | set | tuple | bytes):
        raise FrontMatterError(f"'{key}' in front matter must be a single value, not "
                               f"{_kind(value)}")
    if isinstance(value, str) and len(value) > MAX_OTHER_CHARS:
        raise FrontMatterError(f"'{key}' in front matter is {len(value)} characters; the limit "
                               f"is {MAX_OTHER_CHARS}")


def _kind(value) -> str:
    names = {dict: "a mapping", list: "a list", bool: "true or false", type(None): "empty",
             bytes: "binary data", set: "a set", int: "a number", float: "a number",
             str: "text"}
    return names.get(type(value), f"a {type(value).__name__}")


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
