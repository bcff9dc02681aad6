"""A question in a language the library has nothing in is not answered from whatever passage
happens to be nearest in another language."""

from __future__ import annotations

import shutil

import pytest

from assistant.composition import Library, build_assistant
from assistant.language import detect
from assistant.settings import Settings
from ingest.pipeline import ingest
from tests.samples import DATA_REQUEST_GUIDE as GUIDE

ARABIC = "كيف نتعامل مع طلب حكومي للحصول على بيانات المستخدمين؟"
INDONESIAN = "Bagaimana data pribadi pelanggan dikumpulkan dan untuk apa data itu digunakan?"
ENGLISH = "How should we handle a government request for user data?"


@pytest.mark.parametrize(("text", "code"), [
    (ARABIC, "ar"), (INDONESIAN, "id"), (ENGLISH, "en"), ("我们应该如何评估电信出口交易的买方？", "zh"),
    ("Как оценить покупателя в сделке?", "ru"), ("Wie sollen wir den Käufer prüfen?", "de"),
    ("May we sell DPI gear to a state-owned operator?", "en"), ("📡🔥", None),
])
def test_the_language_of_a_question_is_told_by_its_script_and_function_words(text, code):
    assert detect(text) == code


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, embedder, fixtures_dir):
    root = tmp_path_factory.mktemp("languages")
    (root / "docs").mkdir()
    (root / "docs" / "guide.md").write_text(GUIDE, encoding="utf-8")
    shutil.copy(fixtures_dir / "pdfs" / "real" / "aws-privacy-notice-id.pdf", root / "docs")
    library = Library(Settings(_env_file=None, data_dir=root / "data"), embedder=embedder)
    report = ingest(library, [root / "docs"])
    assert not report.failed, [o.to_dict() for o in report.failed]
    return build_assistant(library.settings, library=library)


@pytest.mark.slow
def test_a_question_in_a_language_the_library_lacks_is_declined_saying_so(assistant):
    answer = assistant.answer(ARABIC)

    assert answer.declined and not answer.citations
    assert answer.notice == ("The question seems to be in Arabic, and the library has no "
                             "documents in Arabic; try asking in English.")
    assert all(detect(p.text) != "id" for p in answer.passages)


@pytest.mark.slow
def test_a_question_in_the_language_of_a_document_can_be_answered_from_it(assistant):
    answer = assistant.answer(INDONESIAN)

    assert not answer.declined and answer.notice is None
    assert {c.doc_id for c in answer.citations} == {"aws-privacy-notice-id"}


@pytest.mark.slow
def test_an_english_question_is_answered_as_before(assistant):
    answer = assistant.answer(ENGLISH)

    assert not answer.declined and answer.notice is None
    assert "data-request-guide" in {c.doc_id for c in answer.citations}
