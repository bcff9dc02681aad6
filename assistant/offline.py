"""Keeps every library this app uses from reaching out to the network on its own."""

from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",  # sentence-transformers / transformers: never ask the model hub
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",  # Chroma's product telemetry
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "LANGCHAIN_TRACING_V2": "false",  # no LangSmith tracing: questions stay on this machine
    "LANGSMITH_TRACING": "false",
    "TOKENIZERS_PARALLELISM": "false",  # quiet fork warnings from the tokenizer threads
}


def enforce_offline() -> None:
    """Set the switches that keep model loading and telemetry local. Idempotent."""
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value
