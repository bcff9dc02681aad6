"""Composition root: builds the store, the embedder and the assistant from settings, once."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from assistant.library.embedder import MiniLMEmbeddings
from assistant.library.sentence_vectors import SentenceIndex
from assistant.library.store import LibraryStore, open_client
from assistant.settings import Settings


class Library:
    """The store and the embedder that go together; shared by ingest and the assistant."""

    def __init__(self, settings: Settings, client=None, embedder: MiniLMEmbeddings | None = None):
        self.settings = settings
        self._client = client
        if embedder is not None:  # share one loaded model between libraries (tests, benchmarks)
            self.embedder = embedder

    @cached_property
    def store(self) -> LibraryStore:
        client = self._client or open_client(self.settings.store)
        return LibraryStore(client, self.settings.collection)

    @cached_property
    def embedder(self) -> MiniLMEmbeddings:
        return MiniLMEmbeddings(self.settings.embedding)

    @property
    def cache_dir(self) -> Path:
        """Derived data of this collection (keyword index, sentence vectors): safe to delete."""
        return self.settings.data_dir / "cache" / self.settings.collection

    @cached_property
    def sentences(self) -> SentenceIndex:
        return SentenceIndex(self.cache_dir, self.embedder)


def build_library(settings: Settings) -> Library:
    return Library(settings)


def build_assistant(settings: Settings, library: Library | None = None, chat_model=None):
    """The assistant over the library; `chat_model` overrides the configured LLM (tests, demos)."""
    from assistant.engine import Assistant  # lazy: the CLI's light commands don't need it

    library = library or build_library(settings)
    # Every assistant embeds its first question: load the model while the library and its
    # keyword index are opened (an embedder given by a test may have no such method).
    if start := getattr(library.embedder, "load_in_background", None):
        start()
    return Assistant(settings, library, chat_model=chat_model)
