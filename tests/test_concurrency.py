"""Two things at once: a removal never lands inside an update (it left a record with no
chunks), an upload refused because another ingest runs is not kept (it slipped in at the next
rebuild), and two uploads whose names clean to one name never overwrite each other."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from assistant.composition import Library
from assistant.library.store import DocumentRecord, LibraryStore
from assistant.settings import Limits
from ingest.lock import IngestBusy, ingest_lock
from ingest.pipeline import ingest, remove
from ingest.uploads import save_upload
from tests.cli import hrdd

WAIT_S = 120
LIMITS = Limits(max_file_mb=50, max_pages=2000, parse_seconds=60, max_question_chars=4000)


def policy(title: str, text: str) -> str:
    return (f"---\nid: export-policy\ntitle: {title}\nkind: policy\n---\n\n# {title}\n\n"
            f"## 1. Scope\n\n{text}\n\n## 2. Checks\n\nEach sale to a state buyer is checked "
            "by the human-rights team before the contract is signed.\n")


class StoreThatPausesBeforeCommit(LibraryStore):
    """The store of an update that is half-way: its new chunks written, its commit not yet."""

    at_commit: threading.Event
    go_on: threading.Event

    def _put_record(self, rec: DocumentRecord) -> None:
        if rec.status == "complete" and not self.at_commit.is_set():
            self.at_commit.set()
            self.go_on.wait(WAIT_S)
        super()._put_record(rec)


def whole(store: LibraryStore) -> dict[str, tuple[int, int]]:
    """doc_id -> (chunks its record counts, chunks of its committed version present)."""
    present: dict[str, int] = {}
    for c in store.committed_chunks():
        present[c.metadata["doc_id"]] = present.get(c.metadata["doc_id"], 0) + 1
    return {d.doc_id: (d.chunks, present.get(d.doc_id, 0)) for d in store.documents()}


@pytest.mark.slow
def test_a_removal_waits_for_an_update_of_the_same_document(make_settings, embedder, tmp_path):
    settings = make_settings()
    folder = tmp_path / "policies"
    folder.mkdir()
    path = folder / "export-policy.md"
    path.write_text(policy("Export policy", "The policy covers every sale of network equipment."))
    library = Library(settings, embedder=embedder)
    ingest(library, [folder])
    path.write_text(policy("Export policy (2025)", "The policy covers every sale of network "
                           "equipment and of the software that manages it."))

    pausing = StoreThatPausesBeforeCommit(library.store.client, settings.collection)
    pausing.at_commit, pausing.go_on = threading.Event(), threading.Event()
    updating = Library(settings, embedder=embedder)
    updating.store = pausing
    update = threading.Thread(target=ingest, args=(updating, [folder]))
    update.start()
    waited: list = []
    try:
        assert pausing.at_commit.wait(WAIT_S), "the update never reached its commit"
        refused = hrdd(["library", "remove", "export-policy"], settings.data_dir, tmp_path)
        assert refused.exit_code == 2, refused.output
        assert "Another ingest is running" in " ".join(refused.output.split())
        with pytest.raises(IngestBusy):
            remove(library, "export-policy")
        queued = threading.Thread(target=lambda: waited.append(
            remove(library, "export-policy", wait=True)))
        queued.start()
        queued.join(1)
        assert queued.is_alive(), "the removal did not wait for the update"
    finally:
        pausing.go_on.set()
        update.join(WAIT_S)
    queued.join(WAIT_S)
    assert waited and waited[0].title == "Export policy (2025)"  # it removed the update
    store = Library(settings).store
    assert whole(store) == {}
    assert store.chunk_count() == 0, "chunks were left without a document"


def test_uploads_whose_names_clean_to_one_name_never_overwrite_each_other(tmp_path):
    first = b"# Export policy, version two\n\nSales to state buyers are checked first.\n"
    second = b"# Another export policy\n\nSales of spare parts need no check.\n"
    a = save_upload(tmp_path, "Export policy (v2).md", first, LIMITS)
    b = save_upload(tmp_path, "Export-policy-v2.md", second, LIMITS)
    uploads = tmp_path / "uploads"
    assert sorted(p.read_bytes() for p in uploads.iterdir()) == sorted([first, second])
    assert (a.path.name, a.created, a.note) == ("Export-policy-v2.md", True, "")
    assert (b.path.name, b.created) == ("Export-policy-v2-2.md", True)
    assert b.note == ("saved as Export-policy-v2-2.md: a different file is already saved as "
                      "Export-policy-v2.md (to replace a document, remove it first)")
    again = save_upload(tmp_path, "Export policy (v2).md", first, LIMITS)
    assert (again.path, again.created, again.note) == (a.path, False, "")
    assert sorted(p.name for p in uploads.iterdir()) == ["Export-policy-v2-2.md",
                                                         "Export-policy-v2.md"]


def test_many_uploads_of_one_name_at_once_each_keep_their_own_file(tmp_path):
    texts = [f"# Policy {i}\n\nRule number {i} applies to every sale.\n".encode()
             for i in range(8)]
    barrier = threading.Barrier(len(texts))

    def upload(data: bytes) -> None:
        barrier.wait()
        save_upload(tmp_path, "policy.md", data, LIMITS)

    threads = [threading.Thread(target=upload, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT_S)
    files = list((tmp_path / "uploads").iterdir())
    assert sorted(p.read_bytes() for p in files) == sorted(texts), [p.name for p in files]


def test_an_upload_refused_by_the_checks_leaves_no_file(tmp_path):
    from ingest.uploads import UnsafeUpload

    with pytest.raises(UnsafeUpload):
        save_upload(tmp_path, "notes.pdf", b"not a PDF at all\n" * 20, LIMITS)
    uploads = tmp_path / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []


# ----- the Library page: an upload refused because another ingest runs is not kept


@pytest.fixture
def library_page(monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    from ui.web import resources

    data_dir = tmp_path / "data"
    monkeypatch.setenv("HRDD_DATA_DIR", str(data_dir))
    resources.settings.clear()
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "ui" / "web" / "app.py"),
                           default_timeout=120)
    at.run()
    at.switch_page("views/library.py").run()
    assert not at.exception, at.exception
    yield at, data_dir
    resources.settings.clear()


def add(at, *files) -> None:
    at.file_uploader[0].set_value(list(files) if len(files) > 1 else files[0])
    next(b for b in at.button if b.label == "Add to library").click().run()
    assert not at.exception, at.exception


@pytest.mark.slow
def test_an_upload_refused_while_another_ingest_runs_is_not_kept(library_page):
    at, data_dir = library_page
    guide = policy("Export policy", "The policy covers every sale of network equipment.")
    with ingest_lock(data_dir):  # another session's ingest
        add(at, ("Export policy.md", guide.encode(), "text/markdown"))
    errors = [" ".join(e.value.replace("\\", "").split()) for e in at.error]
    assert any("Another ingest is running" in e for e in errors), errors
    uploads = data_dir / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == [], "the refused upload was kept"

    add(at, ("Export policy.md", guide.encode(), "text/markdown"))
    assert not at.error, [e.value for e in at.error]
    assert [p.name for p in uploads.iterdir()] == ["Export-policy.md"]


@pytest.mark.slow
def test_two_uploads_that_clean_to_one_name_are_both_added_and_the_rename_is_said(library_page):
    at, data_dir = library_page
    one = policy("Export policy", "Sales to state buyers are checked first.")
    two = policy("Spare parts policy", "Sales of spare parts need no check.").replace(
        "id: export-policy", "id: spare-parts")
    add(at, ("Export policy (v2).md", one.encode(), "text/markdown"),
        ("Export-policy-v2.md", two.encode(), "text/markdown"))
    assert not at.error, [e.value for e in at.error]
    rows = at.dataframe[0].value
    assert list(rows["Outcome"].str.split().str[-1]) == ["added", "added"]
    assert "saved as Export-policy-v2-2.md" in " ".join(rows["Reason"].fillna(""))
    titles = set(at.dataframe[1].value["Title"])
    assert titles == {"Export policy", "Spare parts policy"}
