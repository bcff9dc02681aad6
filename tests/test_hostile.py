"""Hostile inputs end in an answer or a clear message, within their bounds, and never half-indexed.

Covered here: PDFs built to exhaust the reader (a page that inflates to a gigabyte, pages that
inflate to gigabytes in total, thousands of blank pages), a folder of every fixture PDF plus
generated bad files, questions of any length, content and script (in-process and through
`hrdd ask --json`), bad answers in a scripted deal, and upload names that try to leave the data
folder. tests/test_ingest.py covers the fixture PDFs one by one and the common bad files
(empty, truncated, renamed, images, unsupported types, missing paths).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import time
import zlib
from io import BytesIO
from pathlib import Path

import pytest

from assistant.answer import DECLINE, Answer
from assistant.assessments.sessions import SessionRecords
from assistant.composition import Library, build_assistant
from assistant.engine import QuestionError
from ingest.documents import parse_file
from ingest.pipeline import ingest as run_ingest
from ingest.uploads import UnsafeUpload, safe_upload_path
from tests.cli import hrdd
from tests.pdf_builder import pdf_with_pages

ROOT = Path(__file__).resolve().parent.parent
ESCALATION = ROOT / "examples" / "deals" / "escalation.yaml"
ON_TOPIC = "How should we assess the purchaser of a telecom export deal?"

# ----- PDFs written by hand, so that a stream can inflate to far more than the file holds

TEXT_OPS = (b"BT /F1 11 Tf 14 TL 72 740 Td (Suppliers respect the privacy of every person whose "
            b"data they process for us, and each supplier names one manager who answers for "
            b"human rights and for every government request for data.) Tj ET\n")


def inflating_to(prefix: bytes, zeros: int, block: int = 1 << 24) -> bytes:
    """A zlib stream of `prefix` then `zeros` NUL bytes, built without compressing the zeros.

    After a full flush a deflate block does not refer back, so one compressed block of zeros
    is repeated; the Adler-32 of the whole is computed, since appending zeros only moves b.
    """
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = comp.compress(prefix) + comp.flush(zlib.Z_FULL_FLUSH)
    piece = comp.compress(b"\0" * block) + comp.flush(zlib.Z_FULL_FLUSH)
    n, rest = divmod(zeros, block)
    tail = comp.compress(b"\0" * rest) + comp.flush()
    adler = zlib.adler32(prefix)
    a, b = adler & 0xFFFF, (adler >> 16) + zeros * (adler & 0xFFFF)
    return b"\x78\xda" + head + piece * n + tail + (((b % 65521) << 16) | a).to_bytes(4, "big")


def gigabyte_bomb() -> bytes:
    """Page 1 is ordinary text; page 2's content stream inflates to 1 GiB."""
    return pdf_with_pages([zlib.compress(TEXT_OPS), inflating_to(TEXT_OPS, 2**30)])


def blank_pages(n: int) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(n):
        writer.add_blank_page(612, 792)
    buf = BytesIO()
    writer.write(buf)
    return buf.getvalue()


# A guidance text in Chinese: no spaces at all, as Chinese is written.
CHINESE_GUIDE = ("---\ntitle: 供应商人权指南\nkind: guidance\ntopics: [partners]\n---\n\n"
                 "## 1. 范围\n\n"
                 + "".join(f"第{i}条：企业应当识别和评估其供应商在数据处理中可能造成的不利人权影响，"
                           f"并且在发现风险时及时通知法律团队和人权委员会。" for i in range(150))
                 + "\n")


def ingest(settings, embedder, paths) -> tuple:
    library = Library(settings, embedder=embedder)
    started = time.monotonic()
    report = run_ingest(library, paths)
    return report, library.store, time.monotonic() - started


def no_traceback(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.output


# ----- PDFs that try to exhaust the reader


@pytest.mark.slow
def test_a_page_that_inflates_to_a_gigabyte_fails_as_a_decompression_bomb(make_settings, embedder,
                                                                          tmp_path):
    path = tmp_path / "bomb.pdf"
    path.write_bytes(gigabyte_bomb())
    assert path.stat().st_size < 2 * 2**20
    report, store, seconds = ingest(make_settings(parse_seconds=30), embedder, [path])

    (outcome,) = report.outcomes
    assert outcome.outcome == "failed"
    assert outcome.reason.startswith("page 2 ") and "decompression bomb" in outcome.reason
    assert seconds < 30
    assert store.documents() == [] and store.chunk_count() == 0


@pytest.mark.slow
def test_pages_that_inflate_to_gigabytes_in_total_stop_at_the_time_bound(make_settings, embedder,
                                                                        tmp_path):
    path = tmp_path / "slow.pdf"
    path.write_bytes(pdf_with_pages([inflating_to(TEXT_OPS, 70 * 2**20)] * 30))  # 2.1 GiB
    report, store, seconds = ingest(make_settings(parse_seconds=4), embedder, [path])

    (outcome,) = report.outcomes
    assert (outcome.outcome, outcome.reason) == (
        "failed", "reading it took longer than 4 s (HRDD_PARSE_SECONDS); it may be malformed")
    assert seconds < 4 + 10
    assert multiprocessing.active_children() == [], "the reader process was left running"
    assert store.documents() == []


@pytest.fixture(scope="module")
def three_thousand_blank_pages(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("blank") / "blank-3000.pdf"
    path.write_bytes(blank_pages(3000))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("max_pages, reason", [
    (2000, "it has 3000 pages; the limit is 2000 (HRDD_MAX_PAGES)"),
    (5000, "no extractable text (a scanned or image-only PDF? OCR is not supported)"),
])
def test_thousands_of_blank_pages_fail_at_the_page_limit_or_as_no_text(
        make_settings, embedder, three_thousand_blank_pages, max_pages, reason):
    settings = make_settings(max_pages=max_pages, parse_seconds=30)
    report, store, seconds = ingest(settings, embedder, [three_thousand_blank_pages])

    assert [(o.outcome, o.reason) for o in report.outcomes] == [("failed", reason)]
    assert seconds < 30
    assert store.documents() == []


# ----- a folder of everything: only the good files end up in the library

FIXTURES_ADDED = {"real/gni-principles.pdf", "real/aws-privacy-notice-id.pdf",
                  "hostile/Seige_of_Vicksburg_Sample_OCR.pdf", "hostile/side-by-side-subfig.pdf",
                  "hostile/attachment.pdf", "hostile/outlines-with-invalid-destinations.pdf",
                  "hostile/crazyones.pdf", "hostile/multilang.pdf"}
GENERATED_FAILED = {
    "bomb.pdf": "page 2 ",
    "blank-3000.pdf": "it has 3000 pages; the limit is 2000 (HRDD_MAX_PAGES)",
    "too-big.pdf": "it is 60 MB; the limit is 50 MB (HRDD_MAX_FILE_MB)",
    "header-only.pdf": "damaged or not really a PDF",
    "random-bytes.pdf": "damaged or not really a PDF",
    "nul-bytes.md": "not a text file (it contains binary data)",
    "front-matter-only.md": "no text after the front matter",
    "whitespace.txt": "the file is empty",
    "pol\udcedtica.md": "the file name is not valid UTF-8",
}


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory, three_thousand_blank_pages) -> Path:
    """Generated bad files, one good file, and files that are not regular files at all."""
    folder = tmp_path_factory.mktemp("generated") / "inbox"
    folder.mkdir()
    (folder / "bomb.pdf").write_bytes(gigabyte_bomb())
    (folder / "blank-3000.pdf").write_bytes(three_thousand_blank_pages.read_bytes())
    with open(folder / "too-big.pdf", "wb") as fh:  # sparse: 60 MB on paper, nothing on disk
        fh.write(b"%PDF-1.4\n")
        fh.truncate(60 * 2**20)
    (folder / "header-only.pdf").write_bytes(b"%PDF-1.7\n%%EOF\n")
    (folder / "random-bytes.pdf").write_bytes(b"%PDF-1.4\n" + random.Random(8).randbytes(20000))
    (folder / "nul-bytes.md").write_bytes(b"# Policy\n\n" + b"\0" * 64 + b"text")
    (folder / "front-matter-only.md").write_text("---\ntitle: Nothing here\n---\n")
    (folder / "whitespace.txt").write_text(" \n\t\n   \n")
    # a name that is not UTF-8 (a Latin-1 name from an old archive)
    with open(os.fsencode(folder) + b"/pol\xedtica.md", "wb") as fh:
        fh.write(b"# Politica\n\nThe policy covers every sale of network products abroad.\n")
    (folder / "guide-zh.md").write_text(CHINESE_GUIDE, encoding="utf-8")
    # not regular files: reading them would block forever or never end
    os.mkfifo(folder / "fifo.pdf")
    (folder / "zero.pdf").symlink_to("/dev/zero")
    (folder / "loop.pdf").symlink_to(folder / "loop.pdf")
    return folder


@pytest.mark.slow
def test_a_folder_of_every_fixture_and_bad_file_leaves_exactly_the_good_files(
        make_settings, embedder, fixtures_dir, bad_folder):
    pdfs = fixtures_dir / "pdfs"
    report, store, seconds = ingest(make_settings(parse_seconds=30), embedder, [pdfs, bad_folder])

    good = {str((pdfs / name).resolve()) for name in FIXTURES_ADDED}
    good.add(str((bad_folder / "guide-zh.md").resolve()))
    assert {d.source for d in store.documents()} == good
    added = {o.path for o in report.outcomes if o.outcome == "added"}
    assert {str(Path(p).resolve()) for p in added} == good
    failed = {Path(o.path).name: o.reason for o in report.failed}
    for name, reason in GENERATED_FAILED.items():
        assert failed.get(name, "").startswith(reason), (name, failed.get(name))
    assert not {"fifo.pdf", "zero.pdf", "loop.pdf"} & {Path(o.path).name for o in report.outcomes}
    assert all(reason.strip() for reason in failed.values())
    # whole documents only: every stored chunk belongs to a committed document, counted once
    assert store.chunk_count() == sum(d.chunks for d in store.documents())
    assert seconds < 300


@pytest.mark.slow
def test_a_document_in_a_script_without_spaces_is_cut_to_the_token_bound(make_settings, embedder,
                                                                        tmp_path):
    path = tmp_path / "guide-zh.md"
    path.write_text(CHINESE_GUIDE, encoding="utf-8")
    settings = make_settings()
    report, store, _ = ingest(settings, embedder, [path])

    assert [o.outcome for o in report.outcomes] == ["added"]
    chunks = list(store.committed_chunks())
    assert len(chunks) > 20
    assert max(c.metadata["tokens"] for c in chunks) <= settings.chunk_tokens
    (unit,) = parse_file(path, path.read_bytes()).units
    covered = bytearray(len(unit.text))
    for c in chunks:
        assert unit.text[c.metadata["start"]:c.metadata["end"]] == c.text
        covered[c.metadata["start"]:c.metadata["end"]] = b"\x01" * len(c.text)
    assert all(covered[i] or ch.isspace() for i, ch in enumerate(unit.text)), "text was lost"


# ----- questions of any length, content and script

ANSWERABLE = {
    "100 kB long": (ON_TOPIC + " ") * 1650,
    "control characters": "How\x00 should we\x1b[31m assess\x07 the purchaser\x7f of a telecom "
                          "export deal?",
    "invisible format characters": "\u202eHow should we assess\u200b the purchaser of a "
                                   "telecom export\u202c deal?",
}
# The library is English and its embedding model too: these have nothing it can match, so the
# honest outcome is the decline with the nearest documents, never a made-up answer.
UNMATCHABLE = {
    "Chinese": "我们应该如何评估电信出口交易的买方？",
    "Arabic": "كيف يجب أن نقيّم المشتري في صفقة تصدير معدات الاتصالات؟",
    "emoji": "📡🔥💣❓🏳️‍🌈",
    "one 100 kB word": "a" * 100_000,
    "punctuation only": "?!?!...;;",
}
EMPTY = ["", "   ", "\x00\x01\x02", "\n\t\r\x0b\x0c"]


@pytest.fixture(scope="module")
def assistant(corpus_library):
    return build_assistant(corpus_library.settings, corpus_library).warm_up()


def check_answer(answer: Answer, assistant) -> None:
    """A clear answer: cited passages of library documents, or the decline text."""
    limit = assistant.settings.max_question_chars
    assert answer.text.strip()
    assert len(answer.question) <= limit
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in answer.question)
    if answer.declined:
        assert answer.text.startswith(DECLINE)
    else:
        docs = {d.doc_id for d in assistant.library.store.documents()}
        assert answer.citations and {c.doc_id for c in answer.citations} <= docs


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ANSWERABLE))
def test_a_long_or_garbled_question_is_cleaned_and_answered(assistant, name):
    answer = assistant.answer(ANSWERABLE[name])
    check_answer(answer, assistant)
    assert not answer.declined
    if name == "100 kB long":
        assert answer.notice == "Only the first 4000 characters of the question were used."


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(UNMATCHABLE))
def test_a_question_the_english_library_cannot_match_is_declined(assistant, name):
    answer = assistant.answer(UNMATCHABLE[name])
    check_answer(answer, assistant)
    assert answer.declined and not answer.citations


@pytest.mark.slow
def test_a_question_with_undecodable_bytes_gets_an_answer(assistant):
    # what Python makes of invalid UTF-8 in a command-line argument (surrogateescape)
    question = os.fsdecode(b"How should we assess the purchaser \xff\xfe of a telecom export deal?")
    answer = assistant.answer(question)
    check_answer(answer, assistant)
    assert not answer.declined
    answer.question.encode("utf-8")  # safe to store, log and print


@pytest.mark.slow
@pytest.mark.parametrize("question", EMPTY, ids=["empty", "spaces", "NUL", "line breaks"])
def test_an_empty_question_is_refused_with_a_clear_message(assistant, question):
    with pytest.raises(QuestionError, match=r"^Please type a question\.$"):
        assistant.answer(question)


@pytest.mark.slow
def test_hrdd_ask_json_answers_every_line_or_says_why(corpus_library, tmp_path):
    lines = [ON_TOPIC, "", *ANSWERABLE.values(), *UNMATCHABLE.values(), "\x00\x01"]
    result = hrdd(["ask", "--json", "-"], corpus_library.settings.data_dir, tmp_path,
                  stdin="\n".join(lines) + "\n")

    no_traceback(result)
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(lines)
    for line, row in zip(lines, rows, strict=True):
        if line.strip("\x00\x01 "):
            assert "error" not in row and row["text"].strip(), row
            assert row["declined"] == (line in UNMATCHABLE.values()), row["question"][:80]
            assert bool(row["citations"]) != row["declined"]
        else:
            assert row == {"question": line, "error": "Please type a question."}


@pytest.mark.slow
@pytest.mark.parametrize("argument, code", [
    ("", 2),
    (os.fsdecode(b"How should we assess the purchaser \xff of a telecom export deal?"), 0),
])
def test_hrdd_ask_json_with_an_empty_or_undecodable_argument(corpus_library, tmp_path,
                                                             argument, code):
    result = hrdd(["ask", "--json", argument], corpus_library.settings.data_dir, tmp_path)

    no_traceback(result)
    assert result.exit_code == code
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    if code:
        assert row["error"] == "Please type a question."
    else:
        assert row["text"].strip() and not row["declined"]


# ----- a scripted deal with bad answers stops with a clear message and saves nothing


@pytest.mark.parametrize("change, message", [
    (("ownership", "spying"), "'spying' is not one of the choices"),
    (("ownership", ["state-owned", "private"]), "expects text, got list"),
    (("destination", 49), "expects text, got int 49"),
    (("destination", "Borduria"), "expects a two-letter country code, got 'Borduria'"),
    (("purpose_notes", "x" * 2001), "is too long (2001 characters; at most 2000)"),
    (("colour", "red"), "unknown question 'colour'"),
])
def test_a_scripted_deal_with_a_bad_answer_stops_and_saves_nothing(tmp_path, change, message):
    import yaml

    script = yaml.safe_load(ESCALATION.read_text(encoding="utf-8"))
    script["answers"][change[0]] = change[1]
    script["country_indicators"] = str(ESCALATION.parent / script["country_indicators"])
    path = tmp_path / "deal.yaml"
    path.write_text(yaml.safe_dump(script), encoding="utf-8")
    data_dir = tmp_path / "data"

    result = hrdd(["assess", "run", path, "--report", tmp_path / "report.md"], data_dir, tmp_path)

    no_traceback(result)
    assert result.exit_code == 2
    assert message in " ".join(result.output.replace("│", " ").split())
    assert "deal.yaml" in result.output
    assert not (tmp_path / "report.md").exists()
    records = SessionRecords(f"sqlite:///{data_dir / 'sessions.sqlite'}", app_version="test",
                             library_version="test")
    try:
        assert records.list() == ()
    finally:
        records.close()


# ----- upload names cannot leave the uploads folder


@pytest.mark.parametrize("name, saved_as", [
    ("Supplier code (v2).md", "Supplier-code-v2.md"),
    ("report.PDF", "report.pdf"),
    ("人权报告 2024.pdf", "人权报告-2024.pdf"),
    ("تقرير.md", "تقرير.md"),
    (".env.md", "env.md"),
    ("notes", "notes"),
    ("a\x07b\x1bc.md", "a-b-c.md"),
    ("C:report.pdf", "C-report.pdf"),
    ("x" * 400 + ".pdf", "x" * 150 + ".pdf"),
    ("中" * 200 + ".md", "中" * 50 + ".md"),
])
def test_an_upload_name_is_made_plain_and_keeps_its_extension(tmp_path, name, saved_as):
    path = safe_upload_path(tmp_path / "data", name)
    assert path == (tmp_path / "data" / "uploads" / saved_as).resolve()
    assert len(path.name.encode()) <= 255


@pytest.mark.parametrize("name, message", [
    ("../../x.pdf", "folder path"),
    ("..\\..\\x.pdf", "folder path"),
    ("/etc/cron.d/x.pdf", "folder path"),
    ("uploads/../../x.md", "folder path"),
    ("\uff0e\uff0e\uff0fx.pdf", "folder path"),  # full-width "../"
    ("..", "folder path"),
    ("report.pdf\x00.sh", "NUL"),
    ("\x00", "NUL"),
    ("", "no name"),
    ("   ", "no name"),
    (".pdf", "no name"),
    ("....pdf", "no name"),
    ("📡🔥.pdf", "no name"),
])
def test_an_upload_name_with_a_path_or_nothing_usable_is_refused(tmp_path, name, message):
    with pytest.raises(UnsafeUpload, match=message):
        safe_upload_path(tmp_path / "data", name)


def test_an_upload_cannot_write_through_a_link_planted_in_the_uploads_folder(tmp_path):
    outside = tmp_path / "outside.pdf"
    uploads = tmp_path / "data" / "uploads"
    uploads.mkdir(parents=True)
    (uploads / "report.pdf").symlink_to(outside)
    with pytest.raises(UnsafeUpload, match="not allowed"):
        safe_upload_path(tmp_path / "data", "report.pdf")
    assert not outside.exists()


def test_every_hostile_upload_name_lands_inside_the_uploads_folder(tmp_path):
    data_dir = tmp_path / "deep" / "data"
    rng = random.Random(12)
    alphabet = "./\\\x00\x01:;*?\"<>|~ -_aZ9中ا📡\u202e\u200b\uff0f\uff0e"
    names = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) + ext
             for ext in ("", ".pdf", ".md") for _ in range(300)]
    saved = 0
    for name in names:
        try:
            path = safe_upload_path(data_dir, name)
        except UnsafeUpload:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        saved += 1
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert saved > 100
    assert all(p.parent == data_dir / "uploads" for p in written)
    assert not any(p.name.startswith(".") for p in written)
