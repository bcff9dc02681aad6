"""Shared fixtures: settings in a temporary data directory, one loaded embedder, a built library."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.offline import enforce_offline
from assistant.settings import Settings

enforce_offline()
ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The real PDFs and hostile inputs in ../shared/fixtures (absent outside this workspace)."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"../shared/fixtures not found at {SHARED_FIXTURES}: real-PDF tests need it")
    return SHARED_FIXTURES


@pytest.fixture
def make_settings(tmp_path):
    """Settings with a fresh data directory; keyword arguments override any field."""

    def make(**overrides) -> Settings:
        overrides.setdefault("data_dir", tmp_path / "data")
        return Settings(_env_file=None, **overrides)

    return make


@pytest.fixture(scope="session")
def embedder():
    """One loaded all-MiniLM-L6-v2 for the whole run (loading takes about 10 s)."""
    from assistant.library.embedder import MiniLMEmbeddings

    return MiniLMEmbeddings(Settings(_env_file=None).embedding).load()


@pytest.fixture(scope="session")
def corpus_library(tmp_path_factory, embedder):
    """The starter library ingested once into a session-wide data directory."""
    from assistant.composition import Library
    from ingest.pipeline import ingest

    settings = Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("corpus-data"))
    library = Library(settings, embedder=embedder)
    report = ingest(library, [CORPUS])
    assert not report.failed, [o.to_dict() for o in report.failed]
    return library
