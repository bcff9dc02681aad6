"""Ingest: files go into the library whole, once, with everything a citation needs; a file that
cannot be read fails with a reason a person understands and never stops the others."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from assistant.composition import Library
from assistant.library.embedder import TokenCounter
from assistant.library.store import DocumentRecord, LibraryMismatch, LibraryStore, StoredChunk
from assistant.settings import Settings
from ingest.chunker import prefix
from ingest.documents import ParsedDocument, parse_file
from ingest.lock import IngestBusy, ingest_lock
from ingest.pdf import read_pdf_pages
from ingest.pipeline import ingest
from tests.cli import hrdd, hrdd_command
from tests.pdf_builder import text_pdf

# ----- inputs the tests make for themselves


SUPPLIER_CODE_PAGES = [
    ["Supplier code of conduct",
     "Suppliers respect the privacy of every person whose data they process for us.",
     "Each supplier names one manager who answers for human rights."],
    ["Government requests",
     "A supplier that receives a government request for user data tells our legal team",
     "within two working days, unless a court has forbidden it."],
    ["Audits and complaints",
     "We audit high-risk suppliers every second year and after any serious complaint.",
     "Workers can complain to us directly, in their own language, without reprisal."],
]

EXPORT_POLICY = """---
id: export-policy
title: "Acme export screening policy"
kind: policy
topics: [export-controls, purchaser, policy]
summary: >-
  How Acme screens a sale of network products for human-rights risk before it ships.
---

## 1. Scope

This policy covers every sale of network monitoring products outside the home market.
The sales team applies it before a quote is sent, not after the contract is signed.

## 2. Screening steps

### 2.1 Purchaser check

The compliance team checks who owns the purchaser and how it has used similar products.
A state-owned purchaser always gets a full review.

### 2.2 Escalation

A sale with any high-risk finding goes to the human-rights committee for a decision.
The committee records its reasons and any conditions it sets.
"""

GRIEVANCE_PROCEDURE = """---
id: grievance-procedure
title: "Acme grievance procedure"
kind: policy
topics: [remedy, employees]
summary: >-
  How anyone affected by Acme's products or operations can raise a complaint and what happens next.
---

## 1. Who can complain

Anyone affected by our products or operations can complain, including people who are not customers.
Complaints can be made anonymously through the web form or the telephone line.

## 2. What happens next

The grievance team answers within thirty days and explains what it will do.
A complaint about a human-rights harm is reported to the board every quarter.
"""


def write_policies(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "export-policy.md").write_text(EXPORT_POLICY, encoding="utf-8")
    (folder / "grievance-procedure.md").write_text(GRIEVANCE_PROCEDURE, encoding="utf-8")
    return folder


def long_paragraph() -> str:
    """About 2,500 tokens of varied sentences with no paragraph break."""
    subjects = ["The supplier", "The reseller", "The operator", "The integrator", "The agency"]
    findings = ["kept logs of every request", "refused to name its final customer",
                "asked for the interception module", "trained its staff on privacy",
                "answered complaints within a month", "shared data with the police"]
    return " ".join(f"{subjects[i % 5]} reviewed in audit {i} {findings[i % 6]}, and the team "
                    f"recorded finding {i} in the risk register." for i in range(120))


def long_sentence() -> str:
    """About 900 words with no punctuation at all."""
    words = ("the vendor reviews each customer request and records the outcome for the committee "
             "which decides whether the sale may go ahead under the policy").split()
    return " ".join(words[i % len(words)] for i in range(900))


def markdown(doc_id: str, title: str, heading: str, text: str) -> str:
    return (f"---\nid: {doc_id}\ntitle: \"{title}\"\nkind: policy\ntopics: [policy]\n---\n\n"
            f"## 1. {heading}\n\n{text}\n")


def library_of(settings: Settings, embedder, store: LibraryStore | None = None) -> Library:
    """A library as one command opens it; `store` stands in for its own (a store that fails)."""
    library = Library(settings, embedder=embedder)
    if store is not None:
        library.store = store
    return library


def fresh_store(settings: Settings) -> LibraryStore:
    """The store as a new process would open it."""
    return Library(settings).store


def flat(text: str) -> str:
    """Output with Rich's line wrapping undone."""
    return " ".join(text.split())


def raw_chunks(store: LibraryStore, where: dict) -> list[str]:
    """Ids of every chunk in the collection that matches, committed or not."""
    return store.chunks.get(where=where, include=[])["ids"]


def by_name(report) -> dict:
    return {Path(o.path).name: o for o in report.outcomes}


@pytest.fixture
def policies(tmp_path) -> Path:
    return write_policies(tmp_path / "policies")


# ----- libraries shared by the checks on every stored chunk


@pytest.fixture(scope="module")
def synthetic_ingest(tmp_path_factory, embedder):
    """Markdown, text and a PDF made here, including a long paragraph and an endless sentence."""
    root = tmp_path_factory.mktemp("synthetic")
    inbox = write_policies(root / "inbox")
    (inbox / "long-paragraph.md").write_text(
        markdown("long-paragraph", "Audit findings", "All findings", long_paragraph()))
    (inbox / "long-sentence.md").write_text(
        markdown("long-sentence", "Review rule", "The rule", long_sentence()))
    (inbox / "supplier-code.pdf").write_bytes(text_pdf(SUPPLIER_CODE_PAGES))
    (inbox / "notes.txt").write_bytes(
        "Política de privacidade\n\nA empresa é responsável pela proteção dos dados dos "
        "usuários e responde a cada pedido em até trinta dias.\n".encode("latin-1"))
    settings = Settings(_env_file=None, data_dir=root / "data")
    report = ingest(library_of(settings, embedder), [inbox])
    assert not report.failed, [o.to_dict() for o in report.failed]
    return Library(settings, embedder=embedder), report


@pytest.fixture(scope="module")
def real_pdf_ingest(tmp_path_factory, fixtures_dir, embedder):
    """The two real PDFs: the GNI Principles and an AES-encrypted notice in Bahasa Indonesia."""
    real = fixtures_dir / "pdfs" / "real"
    settings = Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("real-pdfs"))
    report = ingest(library_of(settings, embedder), 
        [real / "gni-principles.pdf", real / "aws-privacy-notice-id.pdf"])
    return Library(settings, embedder=embedder), report


@pytest.fixture(params=["synthetic", "real-pdfs", "corpus"])
def library(request) -> Library:
    if request.param == "corpus":
        return request.getfixturevalue("corpus_library")
    name = {"synthetic": "synthetic_ingest", "real-pdfs": "real_pdf_ingest"}[request.param]
    return request.getfixturevalue(name)[0]


@pytest.fixture(scope="module")
def reparse():
    """A document parsed again from its file, once per file and version."""
    parsed: dict[tuple[str, str], ParsedDocument] = {}

    def parse(record: DocumentRecord, settings: Settings) -> ParsedDocument:
        key = (record.source, record.doc_hash)
        if key not in parsed:
            path = Path(record.source)
            pages = read_pdf_pages(path, settings.limits) if path.suffix == ".pdf" else None
            parsed[key] = parse_file(path, path.read_bytes(), pages)
        return parsed[key]

    return parse


def chunks_with_units(library: Library, reparse):
    """(document as parsed again from its file, its record, [(chunk, unit it came from)])."""
    records = {r.doc_id: r for r in library.store.documents()}
    grouped: dict[str, list[StoredChunk]] = {}
    for chunk in library.store.committed_chunks():
        grouped.setdefault(chunk.metadata["doc_id"], []).append(chunk)
    assert set(grouped) == set(records), "every document has chunks, and every chunk a document"
    for doc_id, chunks in grouped.items():
        doc = reparse(records[doc_id], library.settings)
        pairs = []
        for c in chunks:
            m = c.metadata
            units = [u for u in doc.units if u.page == m.get("page")
                     and u.section == m.get("section") and u.heading_path == m.get("heading_path", "")
                     and u.text[m["start"]:m["end"]] == c.text]
            assert units, f"{doc_id}: chunk {m['ordinal']} is not text[start:end] of its unit"
            pairs.append((c, units[0]))
        yield doc, records[doc_id], pairs


# ----- (a) the AES-encrypted real PDF


@pytest.mark.slow
def test_pdf_encrypted_with_an_empty_password_is_opened_and_added(real_pdf_ingest):
    library, report = real_pdf_ingest
    outcome = by_name(report)["aws-privacy-notice-id.pdf"]
    assert (outcome.outcome, outcome.reason) == ("added", "")
    assert outcome.chunks > 10
    texts = [c.text for c in library.store.committed_chunks()
             if c.metadata["doc_id"] == outcome.doc_id]
    assert any("Informasi Pribadi" in t for t in texts)
    assert by_name(report)["gni-principles.pdf"].outcome == "added"


# ----- (b) hostile PDFs from pypdf's test suite

HOSTILE = {
    "encrypted-file.pdf": ("failed", "password-protected"),
    "libreoffice-writer-password.pdf": ("failed", "password-protected"),
    "crazyones-encrypted-256.pdf": ("failed", "password-protected"),
    "issue-297.pdf": ("failed", "no extractable text"),
    "two-different-pages.pdf": ("failed", "no extractable text"),
    "toy.pdf": ("failed", "no extractable text"),
    # odd structures: readable text must come in; they must never crash ingestion
    "Seige_of_Vicksburg_Sample_OCR.pdf": ("added", "VICKSBURG"),
    "side-by-side-subfig.pdf": ("added", "Lorem ipsum"),
    "attachment.pdf": ("added", "crazy ones"),
    "outlines-with-invalid-destinations.pdf": ("added", "Foo"),
    "crazyones.pdf": ("added", "crazy ones"),
    "multilang.pdf": ("added or a clear failure", ""),
}
CLEAR_REASONS = ("password-protected", "no extractable text", "damaged or not really a PDF",
                 "the file is empty", "reading it took longer", "reading it needed more")


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, fixtures_dir, embedder):
    """`hrdd ingest --json` over the whole hostile folder, once."""
    tmp = tmp_path_factory.mktemp("hostile")
    result = hrdd(["ingest", "--json", fixtures_dir / "pdfs" / "hostile"], tmp / "data", tmp)
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    settings = Settings(_env_file=None, data_dir=tmp / "data")
    return result, {Path(r["path"]).name: r for r in rows}, Library(settings, embedder=embedder)


@pytest.mark.slow
def test_hostile_folder_reports_one_line_per_file_and_exits_1(hostile_run, fixtures_dir):
    result, rows, _ = hostile_run
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 1
    assert set(rows) == {p.name for p in (fixtures_dir / "pdfs" / "hostile").glob("*.pdf")}
    assert set(rows) == set(HOSTILE)
    assert "Traceback" not in result.output


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_pdf_gets_the_right_outcome_and_reason(hostile_run, name):
    _, rows, library = hostile_run
    row = rows[name]
    expected, detail = HOSTILE[name]
    assert row["path"].endswith(name), "the JSON line names the file"
    if expected == "failed":
        assert row["outcome"] == "failed"
        assert row["reason"].startswith(detail), row["reason"]
        assert not [c for c in library.store.committed_chunks() if c.metadata["source"].endswith(name)]
    elif expected == "added":
        assert row["outcome"] == "added", row["reason"]
        assert row["chunks"] > 0
        text = " ".join(c.text for c in library.store.committed_chunks()
                        if c.metadata["doc_id"] == row["doc_id"])
        assert detail.lower() in text.lower()
    else:
        assert row["outcome"] == "added" or row["reason"].startswith(CLEAR_REASONS), row


# ----- (c) idempotent re-ingest, (d) changed files, (e) deleted files


@pytest.mark.slow
def test_reingesting_an_unchanged_folder_embeds_nothing(make_settings, embedder, policies):
    settings = make_settings()
    runs = []
    for _ in range(3):  # three separate commands, each with its own store and ingestor
        lib = library_of(settings, embedder)
        report = ingest(lib, [policies])
        runs.append((report, lib.store.chunk_count(), lib.store.version()))
    (first, count, version), *later = runs
    assert [o.outcome for o in first.outcomes] == ["added", "added"]
    assert first.chunks_embedded == count > 0
    for report, again_count, again_version in later:
        assert [o.outcome for o in report.outcomes] == ["unchanged", "unchanged"]
        assert report.chunks_embedded == 0
        assert (again_count, again_version) == (count, version)


@pytest.mark.slow
def test_a_changed_file_is_updated_and_its_old_chunks_are_gone(make_settings, embedder, policies):
    settings = make_settings()
    lib = library_of(settings, embedder)
    ingest(lib, [policies])
    old = lib.store.document("export-policy")
    path = policies / "export-policy.md"
    path.write_text(path.read_text().replace(
        "A state-owned purchaser always gets a full review.",
        "A purchaser linked to a security agency always gets a full review."))
    report = ingest(library_of(settings, embedder), [policies])
    outcomes = by_name(report)
    assert outcomes["export-policy.md"].outcome == "updated"
    assert outcomes["grievance-procedure.md"].outcome == "unchanged"
    store = fresh_store(settings)
    new = store.document("export-policy")
    assert new.doc_hash == hashlib.sha256(path.read_bytes()).hexdigest() != old.doc_hash
    assert raw_chunks(store, {"doc_hash": old.doc_hash}) == []
    texts = " ".join(c.text for c in store.committed_chunks()
                     if c.metadata["doc_id"] == "export-policy")
    assert "linked to a security agency" in texts and "state-owned purchaser" not in texts
    assert store.chunk_count() == sum(d.chunks for d in store.documents())


@pytest.mark.slow
def test_a_deleted_file_is_removed_only_with_prune(make_settings, embedder, policies, tmp_path):
    settings = make_settings()
    other = tmp_path / "other"
    other.mkdir()
    (other / "travel-rule.md").write_text(
        markdown("travel-rule", "Travel rule", "Rule", "Staff book travel through the agency."))
    ingest(library_of(settings, embedder), [policies, other])
    (policies / "grievance-procedure.md").unlink()
    (other / "travel-rule.md").unlink()

    kept = ingest(library_of(settings, embedder), [policies])
    assert [o.outcome for o in kept.outcomes] == ["unchanged"]
    assert {d.doc_id for d in fresh_store(settings).documents()} == {
        "export-policy", "grievance-procedure", "travel-rule"}

    pruned = ingest(library_of(settings, embedder), [policies], prune=True)
    removed = [o for o in pruned.outcomes if o.outcome == "removed"]
    assert [(o.doc_id, Path(o.path).name) for o in removed] == [
        ("grievance-procedure", "grievance-procedure.md")]
    store = fresh_store(settings)
    # a file deleted from a folder that was not named is not pruned
    assert {d.doc_id for d in store.documents()} == {"export-policy", "travel-rule"}
    assert raw_chunks(store, {"doc_id": "grievance-procedure"}) == []


# ----- (f) a library built with another model or chunking


@pytest.mark.slow
def test_model_mismatch_is_refused_with_the_rebuild_command(make_settings, embedder, policies,
                                                            tmp_path):
    settings = make_settings()
    lib = library_of(settings, embedder)
    ingest(lib, [policies])
    with pytest.raises(LibraryMismatch, match="chunked at 200 tokens .* hrdd ingest --rebuild"):
        ingest(library_of(make_settings(chunk_tokens=150), embedder), [policies])

    lib.store.set_fingerprint("other-model", 384, 200, 40)
    with pytest.raises(LibraryMismatch) as err:
        ingest(library_of(settings, embedder), [policies])
    assert "'other-model'" in str(err.value) and "hrdd ingest --rebuild" in str(err.value)

    refused = hrdd(["ingest", policies], settings.data_dir, tmp_path)
    assert refused.exit_code != 0
    assert "other-model" in flat(refused.output) and "hrdd ingest --rebuild" in flat(refused.output)

    rebuilt = hrdd(["ingest", "--rebuild", "--json", policies], settings.data_dir, tmp_path)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert [json.loads(line)["outcome"] for line in rebuilt.stdout.splitlines()] == ["added"] * 2
    store = fresh_store(settings)
    assert store.fingerprint()["model"] == embedder.model_id
    assert {d.doc_id for d in store.documents()} == {"export-policy", "grievance-procedure"}
    store.check_compatible(embedder.model_id, (settings.chunk_tokens, settings.chunk_overlap))


# ----- (g) every chunk fits the embedder's window and nothing is lost, (h) citation metadata


@pytest.mark.slow
def test_the_chunk_bound_leaves_room_for_the_models_special_tokens(embedder):
    settings = Settings(_env_file=None)
    assert settings.chunk_tokens <= embedder.max_tokens  # so the model never truncates a chunk


@pytest.mark.slow
def test_every_chunk_with_its_title_prefix_fits_the_token_bound(library, reparse):
    settings = library.settings
    counter = TokenCounter(settings.embedding.model)
    for doc, _, pairs in chunks_with_units(library, reparse):
        for chunk, unit in pairs:
            embed_text = prefix(doc, unit) + chunk.text
            tokens = counter.count(embed_text)
            assert tokens <= settings.chunk_tokens, f"{doc.doc_id}: {tokens} tokens"


@pytest.mark.slow
def test_every_chunk_is_stored_with_the_vector_of_its_own_text(synthetic_ingest, reparse,
                                                                 embedder):
    """Several documents are embedded in one call; each vector must still land on its chunk."""
    import numpy as np

    library, _ = synthetic_ingest
    assert len(library.store.documents()) >= 5
    stored = library.store.chunks.get(include=["embeddings"])
    vector_of = dict(zip(stored["ids"], stored["embeddings"], strict=True))
    for doc, _, pairs in chunks_with_units(library, reparse):
        texts = [prefix(doc, unit) + chunk.text for chunk, unit in pairs]
        expected = np.asarray(embedder.embed_documents(texts))
        got = np.asarray([vector_of[chunk.chunk_id] for chunk, _ in pairs])
        cosines = (expected * got).sum(axis=1)
        assert cosines.min() > 0.999, f"{doc.doc_id}: a chunk holds another chunk's vector"


@pytest.mark.slow
def test_chunks_cover_every_word_of_every_page_and_section(library, reparse):
    for doc, _, pairs in chunks_with_units(library, reparse):
        for unit in doc.units:
            spans = [(c.metadata["start"], c.metadata["end"]) for c, u in pairs if u == unit]
            covered = bytearray(len(unit.text))
            for a, b in spans:
                covered[a:b] = b"\x01" * (b - a)
            lost = [i for i, ch in enumerate(unit.text) if not ch.isspace() and not covered[i]]
            assert not lost, (f"{doc.doc_id} {unit.page or unit.section}: text lost at "
                              f"{unit.text[lost[0]:lost[0] + 60]!r}")


@pytest.mark.slow
def test_long_paragraph_and_endless_sentence_are_split_at_sensible_places(synthetic_ingest):
    library, _ = synthetic_ingest
    chunks = list(library.store.committed_chunks())
    paragraph = sorted((c for c in chunks if c.metadata["doc_id"] == "long-paragraph"),
                       key=lambda c: c.metadata["start"])
    sentence = sorted((c for c in chunks if c.metadata["doc_id"] == "long-sentence"),
                      key=lambda c: c.metadata["start"])
    assert len(paragraph) >= 8 and len(sentence) >= 4
    # the paragraph is cut between sentences, with overlap for context
    for before, after in zip(paragraph, paragraph[1:], strict=False):
        assert before.text.endswith("register.") and after.text.startswith("The ")
        assert after.metadata["start"] < before.metadata["end"]
    # the sentence without punctuation is cut between words, never inside one
    text = long_sentence()
    for c in sentence:
        a, b = c.metadata["start"], c.metadata["end"]
        assert (a == 0 or text[a - 1] == " ") and (b == len(text) or text[b] == " ")


@pytest.mark.slow
def test_every_chunk_carries_what_a_citation_needs(library, reparse):
    for doc, record, pairs in chunks_with_units(library, reparse):
        data = Path(record.source).read_bytes()
        assert record.doc_hash == hashlib.sha256(data).hexdigest()
        assert record.chunks == len(pairs)
        for chunk, _ in pairs:
            m = chunk.metadata
            assert m["doc_id"] == record.doc_id and m["title"] == record.title == doc.title
            assert m["kind"] == record.kind and m["source"] == record.source
            assert Path(m["source"]).is_absolute()
            assert m["doc_hash"] == record.doc_hash
            assert m["chunk_hash"] == hashlib.sha256(chunk.text.encode()).hexdigest()[:16]
            assert 0 <= m["start"] < m["end"]
            if record.source.endswith(".pdf"):
                assert isinstance(m["page"], int) and 1 <= m["page"] <= record.units
            elif record.source.endswith(".md"):
                assert m["section"].strip() and m["heading_path"].endswith(m["section"])


# ----- (i) generated hostile inputs, through the real command


@pytest.mark.slow
def test_bad_files_fail_with_a_reason_and_never_stop_the_others(tmp_path, embedder):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    pdf = text_pdf(SUPPLIER_CODE_PAGES)
    (inbox / "supplier-code.pdf").write_bytes(pdf)
    (inbox / "empty.pdf").write_bytes(b"")
    (inbox / "truncated.pdf").write_bytes(pdf[: len(pdf) // 2])
    (inbox / "notes-renamed.pdf").write_text("Meeting notes, saved with the wrong extension.\n")
    (inbox / "diagram.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (inbox / "broken-front-matter.md").write_text(
        "---\ntitle: Export policy: screening\nkind: policy\n---\n\n## 1. Scope\n\nAll sales.\n")
    (inbox / "politica.txt").write_bytes(
        "Política de privacidade\n\nA empresa é responsável pela proteção dos dados.\n"
        .encode("latin-1"))
    (inbox / "script.md").write_text(markdown(
        "script", "Form notes", "Notes",
        "The feedback form once received <script>alert('x')</script> from a visitor."))
    docx = tmp_path / "contract.docx"
    docx.write_bytes(b"PK\x03\x04" + bytes(200))
    missing = tmp_path / "no-such-file.pdf"
    data_dir = tmp_path / "data"

    proc = subprocess.run([*hrdd_command(), "ingest", "--json", str(inbox), str(docx), str(missing)],
                          env={**os.environ, "HRDD_DATA_DIR": str(data_dir)}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    rows = {Path(r["path"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    got = {name: (r["outcome"], r["reason"]) for name, r in rows.items()}
    assert got.keys() == {"supplier-code.pdf", "empty.pdf", "truncated.pdf", "notes-renamed.pdf",
                          "diagram.pdf", "broken-front-matter.md", "politica.txt", "script.md",
                          "contract.docx", "no-such-file.pdf"}
    assert got["supplier-code.pdf"] == ("added", "")
    assert got["politica.txt"] == ("added", "")
    assert got["script.md"] == ("added", "")
    assert got["empty.pdf"] == ("failed", "the file is empty")
    assert got["truncated.pdf"][0] == "failed"
    assert got["truncated.pdf"][1].startswith("damaged or not really a PDF")
    assert got["notes-renamed.pdf"] == ("failed", "damaged or not really a PDF (no PDF header)")
    assert got["diagram.pdf"] == ("failed", "not really a PDF: it is a PNG image with a .pdf name")
    assert got["broken-front-matter.md"] == (
        "failed", "front matter is not valid YAML at line 2: mapping values are not allowed here")
    assert got["contract.docx"][0] == "failed"
    assert got["contract.docx"][1].startswith("unsupported type '.docx'")
    assert got["no-such-file.pdf"] == ("failed", "no such file or folder")

    store = Library(Settings(_env_file=None, data_dir=data_dir), embedder=embedder).store
    texts = {c.metadata["doc_id"]: c.text for c in store.committed_chunks()}
    assert "A empresa é responsável pela proteção dos dados." in texts["politica"]
    assert "<script>alert('x')</script>" in texts["script"]  # kept as text, escaped when shown
    assert {d.doc_id for d in store.documents()} == {"supplier-code", "politica", "script"}


# ----- (j) a document is in the library whole or not at all


class PowerCut(Exception):
    pass


class StoreThatDiesBeforeCommit(LibraryStore):
    """A store whose process dies after writing a document's chunks, before its commit record."""

    def _put_record(self, rec: DocumentRecord) -> None:
        if rec.status == "complete":
            raise PowerCut(rec.doc_id)
        super()._put_record(rec)


def visible(store: LibraryStore, doc_id: str) -> list[StoredChunk]:
    return [c for c in store.committed_chunks() if c.metadata["doc_id"] == doc_id]


def changed_chunks(store: LibraryStore, doc_id: str, committed_hash: str) -> list[str]:
    return raw_chunks(store, {"$and": [{"doc_id": doc_id}, {"doc_hash": {"$ne": committed_hash}}]})


@pytest.mark.slow
def test_a_crash_while_updating_keeps_the_previous_version_whole(make_settings, embedder,
                                                                 policies):
    settings = make_settings()
    library = Library(settings, embedder=embedder)
    ingest(library, [policies])
    v1 = library.store.document("export-policy")
    v1_texts = sorted(c.text for c in visible(library.store, "export-policy"))
    path = policies / "export-policy.md"
    path.write_text(path.read_text() + "\n## 3. Review\n\nThe policy is reviewed every year.\n")

    dying = StoreThatDiesBeforeCommit(library.store.client, settings.collection)
    with pytest.raises(PowerCut):
        ingest(library_of(settings, embedder, dying), [policies])

    after = fresh_store(settings)
    assert changed_chunks(after, "export-policy", v1.doc_hash), "the crash left new chunks behind"
    assert after.document("export-policy").status == "pending"
    # readers see the previous version, whole, and nothing of the new one
    assert {d.doc_id: d.doc_hash for d in after.documents()}["export-policy"] == v1.doc_hash
    assert sorted(c.text for c in visible(after, "export-policy")) == v1_texts
    committed = {d.doc_id: d.doc_hash for d in after.documents()}
    hits = after.query(embedder.embed_query("The policy is reviewed every year."), 20)
    assert hits and all(h.metadata["doc_hash"] == committed[h.metadata["doc_id"]] for h in hits)

    assert after.recover() == ["export-policy"]
    assert changed_chunks(after, "export-policy", v1.doc_hash) == []
    assert after.document("export-policy").status == "complete"
    assert sorted(c.text for c in visible(after, "export-policy")) == v1_texts


@pytest.mark.slow
def test_a_crash_while_adding_leaves_nothing_and_the_next_ingest_recovers(make_settings,
                                                                          embedder, policies):
    settings = make_settings()
    library = Library(settings, embedder=embedder)
    ingest(library, [policies])
    (policies / "whistleblowing.md").write_text(markdown(
        "whistleblowing", "Whistleblowing", "Reports", "Staff can report misuse in confidence."))

    dying = StoreThatDiesBeforeCommit(library.store.client, settings.collection)
    with pytest.raises(PowerCut):
        ingest(library_of(settings, embedder, dying), [policies])

    after = fresh_store(settings)
    assert raw_chunks(after, {"doc_id": "whistleblowing"}), "the crash left chunks behind"
    assert [d.doc_id for d in after.documents()] == ["export-policy", "grievance-procedure"]
    assert visible(after, "whistleblowing") == []

    report = ingest(library_of(settings, embedder, after), [policies])
    assert report.recovered == ["whistleblowing"]
    assert {o.doc_id: o.outcome for o in report.outcomes} == {
        "export-policy": "unchanged", "grievance-procedure": "unchanged",
        "whistleblowing": "added"}
    final = fresh_store(settings)
    assert [c.text for c in visible(final, "whistleblowing")] == [
        "Staff can report misuse in confidence."]
    assert final.chunk_count() == sum(d.chunks for d in final.documents())


# ----- (k) one ingest at a time


@contextmanager
def lock_held_by_another_thread(data_dir: Path):
    """Hold the ingest lock as a running ingest would, from a thread of its own."""
    taken, release = threading.Event(), threading.Event()

    def hold():
        with ingest_lock(data_dir):
            taken.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(10)
    try:
        yield
    finally:
        release.set()
        holder.join(10)


def test_a_second_ingest_stops_with_a_clear_message_while_one_runs(make_settings, policies,
                                                                   tmp_path):
    settings = make_settings()
    library = Library(settings)  # the model is not loaded: nothing gets as far as embedding
    with lock_held_by_another_thread(settings.data_dir):
        with pytest.raises(IngestBusy) as err:
            ingest(library, [policies])
        assert "Another ingest is running" in str(err.value) and "--wait" in str(err.value)
        busy = hrdd(["ingest", policies], settings.data_dir, tmp_path)
        assert busy.exit_code != 0 and "Another ingest is running" in flat(busy.output)
    assert library.store.documents() == []


def test_the_lock_is_taken_before_the_store_is_opened(make_settings, policies):
    """A second Chroma client on a folder another process writes can hang: a busy library
    must be reported before ingest opens its store at all."""
    library = Library(make_settings())
    with lock_held_by_another_thread(library.settings.data_dir):
        with pytest.raises(IngestBusy):
            ingest(library, [policies])
    assert "store" not in vars(library), "the store was opened while another ingest ran"


@pytest.mark.slow
def test_a_library_of_its_own_is_rebuilt_on_a_model_mismatch_when_asked(make_settings, embedder,
                                                                        policies):
    """The evaluation's policy (`on_mismatch="rebuild"`); a user's library is never emptied
    without `--rebuild` (the test above)."""
    settings = make_settings()
    lib = library_of(settings, embedder)
    ingest(lib, [policies])
    lib.store.set_fingerprint("other-model", 384, 200, 40)

    report = ingest(library_of(settings, embedder), [policies], on_mismatch="rebuild")
    assert {o.outcome for o in report.outcomes} == {"added"}
    fresh = fresh_store(settings)
    assert fresh.fingerprint()["model"] == embedder.model_id
    assert fresh.chunk_count() == sum(d.chunks for d in fresh.documents()) > 0


def test_an_ingest_with_wait_queues_behind_the_running_one(make_settings, tmp_path):
    settings = make_settings()
    library = Library(settings)
    empty = tmp_path / "empty"
    empty.mkdir()
    reports, errors = [], []

    def queued():
        try:
            reports.append(ingest(library, [empty], wait=True))
        except Exception as e:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(e)

    with lock_held_by_another_thread(settings.data_dir):
        waiter = threading.Thread(target=queued)
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive(), "the second ingest should wait for the lock"
    waiter.join(30)
    assert not waiter.is_alive() and not errors and len(reports) == 1


# ----- (l) listing and removing documents


@pytest.mark.slow
def test_library_list_and_remove(policies, tmp_path, embedder):
    data_dir = tmp_path / "data"
    added = hrdd(["ingest", policies], data_dir, tmp_path)
    assert added.exit_code == 0, added.output

    listed = hrdd(["library", "list", "--json"], data_dir, tmp_path)
    assert listed.exit_code == 0
    docs = {d["doc_id"]: d for d in json.loads(listed.stdout)}
    assert set(docs) == {"export-policy", "grievance-procedure"}
    policy = docs["export-policy"]
    assert policy["title"] == "Acme export screening policy" and policy["kind"] == "policy"
    assert policy["topics"] == ["export-controls", "purchaser", "policy"]
    assert policy["source"] == str((policies / "export-policy.md").resolve())
    assert policy["chunks"] > 0

    removed = hrdd(["library", "remove", "grievance-procedure"], data_dir, tmp_path)
    assert removed.exit_code == 0 and "Removed grievance-procedure" in removed.output
    listed = hrdd(["library", "list", "--json"], data_dir, tmp_path)
    assert [d["doc_id"] for d in json.loads(listed.stdout)] == ["export-policy"]
    store = fresh_store(Settings(_env_file=None, data_dir=data_dir))
    assert raw_chunks(store, {"doc_id": "grievance-procedure"}) == []

    again = hrdd(["library", "remove", "grievance-procedure"], data_dir, tmp_path)
    assert again.exit_code == 1
    assert "no document 'grievance-procedure' in the library" in flat(again.output)
