"""Process-wide switches, set once at the edge (the CLI's `main`, the app's script, test set-up).

Nothing else changes the environment: constructors and loaders only read it. The offline
switches keep every library this app uses from reaching out to the network on its own; the
thread count is the encoder's (torch reads OMP_NUM_THREADS when it is first imported).
"""

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


def prepare_process(encoder_threads: int = 0) -> None:
    """Everything a process sets before it loads a model: offline, and the encoder's threads
    (HRDD_EMBEDDING_THREADS; 0 leaves the runtime's default, all cores)."""
    enforce_offline()
    if encoder_threads:
        os.environ.setdefault("OMP_NUM_THREADS", str(encoder_threads))
