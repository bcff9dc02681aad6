"""Turn one file (PDF, Markdown or plain text) into a document: metadata plus pages or sections."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from assistant.settings import Limits
from ingest.clean import clean_pages, clean_text
from ingest.front_matter import FrontMatterError, check_front_matter, split_front_matter

MARKDOWN = {".md", ".markdown"}
TEXT = {".txt", ".text"}
PDF = {".pdf"}
SUPPORTED = MARKDOWN | TEXT | PDF
KINDS = {"guidance", "case-study", "checklist", "policy", "document"}
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
MAX_TITLE = 300  # characters of a heading taken as the title


class ParseError(Exception):
    """A file that cannot go into the library; the message says why, in plain words."""


@dataclass(frozen=True)
class Unit:
    """A page of a PDF or a section of a Markdown or text file, cleaned."""

    text: str
    page: int | None = None
    section: str | None = None
    heading_path: str = ""


@dataclass(frozen=True)
class ParsedDocument:
    doc_id: str
    title: str
    kind: str
    source: str
    doc_hash: str
    units: tuple[Unit, ...]
    unit_name: str
    topics: tuple[str, ...] = ()
    publisher: str = ""
    year: int | None = None
    url: str = ""
    summary: str = ""
    extra: dict = field(default_factory=dict)
    # from front matter: section number ("1", "4.2") -> the questions that section answers
    questions: dict[str, list[str]] = field(default_factory=dict)
    # from front matter `applies`: another document's id -> the numbers of its sections
    applies: dict[str, list[str]] = field(default_factory=dict)

    def questions_for(self, section: str | None) -> tuple[str, ...]:
        """The questions keyed to a section's number or to the top-level section above it."""
        m = SECTION_NUMBER.match(section or "")
        if not m:
            return ()
        number = m.group(1)
        top = number.split(".")[0]
        own = tuple(self.questions.get(number, ()))
        return own + (tuple(self.questions.get(top, ())) if top != number else ())


SECTION_NUMBER = re.compile(r"^(\d{1,2}(?:\.\d{1,2})?)\.?\s")


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:80] or "document"


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_size(size_bytes: int, limits: Limits) -> None:
    """Refuse a file over HRDD_MAX_FILE_MB (ingest checks the size before reading the file)."""
    size_mb = size_bytes / 2**20
    if size_mb > limits.max_file_mb:
        raise ParseError(f"it is {round(size_mb, 1):g} MB; the limit is {limits.max_file_mb:g} MB "
                         "(HRDD_MAX_FILE_MB)")


def check_content(suffix: str, data: bytes) -> None:
    """Refuse an empty file, an unsupported type, a PDF that plainly is not one, or a text file
    with binary data: the cheap checks, run before any parser and before an upload is saved."""
    from ingest.pdf import sniff  # ingest.pdf imports this module for ParseError

    suffix = suffix.lower()
    if not data.strip():
        raise ParseError("the file is empty")
    if suffix not in SUPPORTED:
        raise ParseError(f"unsupported type '{suffix or 'no extension'}' (supported: PDF, "
                         "Markdown, text)")
    if suffix in PDF:
        sniff(data)
    elif b"\x00" in data[:4096]:
        raise ParseError("not a text file (it contains binary data)")


def parse_file(path: Path, data: bytes, pdf_pages: list[str] | None = None) -> ParsedDocument:
    """Parse a file's bytes; for a PDF, `pdf_pages` is the raw text of each page (see ingest.pdf)."""
    suffix = path.suffix.lower()
    check_content(suffix, data)
    if suffix in PDF:
        return _from_pdf(path, data, pdf_pages or [])
    text = _decode(data)
    if suffix in MARKDOWN:
        return _from_markdown(path, data, text)
    return _from_text(path, data, text)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # Latin-1 family: read, don't refuse


def _from_pdf(path: Path, data: bytes, raw_pages: list[str]) -> ParsedDocument:
    pages = clean_pages(raw_pages)
    units = tuple(Unit(text, page=i + 1) for i, text in enumerate(pages)
                  if len("".join(text.split())) >= 12)
    # Characters, not words: Chinese, Japanese and Thai text has few spaces.
    if sum(len("".join(u.text.split())) for u in units) < 100:
        raise ParseError("no extractable text (a scanned or image-only PDF? OCR is not supported)")
    title = _pdf_title(pages) or path.stem
    return ParsedDocument(slugify(path.stem), title, "document", str(path), file_hash(data),
                          units, "pages")


def _pdf_title(pages: list[str]) -> str:
    for line in pages[0].split("\n") if pages else []:
        line = line.strip()
        if 3 <= len(line.split()) <= 14:
            return line.rstrip(".")
    return ""


def _from_text(path: Path, data: bytes, text: str) -> ParsedDocument:
    text = clean_text(text)
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    if not paras:
        raise ParseError("the file is empty")
    title = paras[0].split("\n")[0][:120] if len(paras[0]) < 120 else path.stem
    return ParsedDocument(slugify(path.stem), title, "document", str(path), file_hash(data),
                          (Unit(text.strip()),), "sections")


def _from_markdown(path: Path, data: bytes, text: str) -> ParsedDocument:
    try:
        meta, body = split_front_matter(clean_text(text))
        fm = check_front_matter(meta, KINDS)
    except FrontMatterError as err:
        raise ParseError(str(err)) from None
    units = tuple(_sections(body))
    if not units:
        raise ParseError("no text after the front matter")
    first_heading = HEADING.search(body)
    title = fm.title or (first_heading.group(2)[:MAX_TITLE] if first_heading else path.stem)
    return ParsedDocument(
        doc_id=slugify(fm.id or path.stem), title=title, kind=fm.kind or "document",
        source=str(path), doc_hash=file_hash(data), units=units, unit_name="sections",
        topics=fm.topics, publisher=fm.publisher, year=fm.year, url=fm.url, summary=fm.summary,
        questions=fm.questions, applies=fm.applies,
    )


def _sections(body: str):
    """One unit per heading's own text, labelled with the heading and the path above it."""
    marks = list(HEADING.finditer(body))
    preamble = body[: marks[0].start()] if marks else body
    # A preamble that is only a block quote is the library's "summary, not the original" notice.
    if preamble.strip() and not all(ln.startswith(">") for ln in preamble.strip().splitlines()):
        yield Unit(preamble.strip())
    stack: list[tuple[int, str]] = []
    for i, m in enumerate(marks):
        level, heading = len(m.group(1)), m.group(2).strip()
        stack = [(lv, h) for lv, h in stack if lv < level] + [(level, heading)]
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        text = body[m.end():end].strip()
        if text:
            path = " > ".join(h for lv, h in stack if lv > 1 or len(stack) == 1)
            yield Unit(text, section=heading, heading_path=path)
