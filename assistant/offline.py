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
    "TOKENIZERS_PARALLELISM": "false",  # quiet fork warnings from the tokenizer threads
}


# LangSmith tracing sends every question to its endpoint: off, unless the user pointed it at a
# tracer on this machine (a self-hosted LangSmith or a local collector).
TRACING_SWITCHES = ("LANGCHAIN_TRACING_V2", "LANGSMITH_TRACING")
TRACING_ENDPOINTS = ("LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT")
LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")


def enforce_offline() -> None:
    """Set the switches that keep model loading, telemetry and tracing local. Idempotent."""
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value
    if not local_tracer_configured():
        for key in TRACING_SWITCHES:
            os.environ[key] = "false"


def local_tracer_configured() -> bool:
    """Whether the user turned tracing on and sent it to a loopback address."""
    from urllib.parse import urlsplit

    wanted = any(os.environ.get(k, "").lower() == "true" for k in TRACING_SWITCHES)
    endpoints = [os.environ.get(k, "") for k in TRACING_ENDPOINTS if os.environ.get(k)]
    return wanted and bool(endpoints) and all(
        (urlsplit(e).hostname or "") in LOOPBACK for e in endpoints)


def prepare_process(encoder_threads: int = 0) -> None:
    """Everything a process sets before it loads a model: offline, and the encoder's threads
    (HRDD_EMBEDDING_THREADS; 0 leaves the runtime's default, all cores)."""
    enforce_offline()
    if encoder_threads:
        os.environ.setdefault("OMP_NUM_THREADS", str(encoder_threads))
