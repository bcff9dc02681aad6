"""The app's long-lived collaborators, built once per process with `st.cache_resource`.

Settings are read once, at the edge. The library and the assistant are keyed by where the
library lives, so a process opens each Chroma folder once; the embedding model is loaded
once and shared by every library.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from assistant.settings import Settings


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    """The settings in force (HRDD_* environment variables, or a .env file)."""
    return Settings()


def library():
    """The library (store and embedder) of the configured data directory."""
    s = settings()
    return _library(*_where(s))


def assistant():
    """The assistant over the library, warmed up (model and keyword index loaded)."""
    s = settings()
    return _assistant(*_where(s))


def records():
    """The assessment session records, tagged with the library version now in force."""
    s = settings()
    recs = _records(s.sessions_url)  # one engine per database, tagged anew on each use
    recs.library_version = library().store.version()
    return recs


def conversations():
    """The saved Ask conversations and feedback votes (the deal sessions' database)."""
    return _conversations(settings().sessions_url)


def schema_behind() -> str | None:
    """Why the app must stop: the shared database's schema is not this version's (run
    `hrdd db upgrade`); None when it is, or when the database is unreachable (the pages that
    need it say so)."""
    import logging

    from assistant.db import SchemaBehind

    try:
        conversations()
    except SchemaBehind as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - Ask still answers without the database
        logging.getLogger(__name__).warning("database unavailable", exc_info=exc)
    return None


def reports_dir() -> Path:
    """Where evaluation reports are written and read: HRDD_REPORTS_DIR, else evals/reports."""
    from evals.report import REPORTS_DIR

    return settings().reports_dir or REPORTS_DIR


def data_dir() -> Path:
    return settings().data_dir.resolve()


def _where(s: Settings) -> tuple[str, str, str]:
    return str(s.data_dir.resolve()), s.collection, s.chroma_url or ""


@st.cache_resource(show_spinner="Loading the embedding model ...")
def _embedder(model: str):
    """One loaded model per process; `model` (its path) is the cache key."""
    from assistant.library.embedder import MiniLMEmbeddings

    return MiniLMEmbeddings(settings().embedding).load()


@st.cache_resource(show_spinner=False)
def _library(data_dir: str, collection: str, chroma_url: str):
    from assistant.composition import Library

    s = settings()
    return Library(s, embedder=_embedder(s.embedding.model))


@st.cache_resource(show_spinner="Opening the library ...")
def _assistant(data_dir: str, collection: str, chroma_url: str):
    from assistant.composition import build_assistant

    return build_assistant(settings(), _library(data_dir, collection, chroma_url)).warm_up()


@st.cache_resource(show_spinner=False)
def _records(url: str):
    from assistant.assessments.sessions import open_records
    from assistant.datadir import private_sessions_file

    private_sessions_file(settings())
    return open_records(settings())


@st.cache_resource(show_spinner=False)
def _conversations(url: str):
    from assistant.conversations import open_conversations
    from assistant.datadir import private_sessions_file

    private_sessions_file(settings())
    return open_conversations(settings())


def access():
    """Granted roles, the shared audit log and document reviews (the sessions' database)."""
    return _access(settings().sessions_url)


@st.cache_resource(show_spinner=False)
def _access(url: str):
    from assistant.access.records import AccessRecords
    from assistant.datadir import private_sessions_file

    private_sessions_file(settings())
    return AccessRecords(url)
