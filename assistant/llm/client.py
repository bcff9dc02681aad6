"""The chat model, and one bounded, complete generation from it.

Three bounds hold for every answer: `HRDD_LLM_MAX_TOKENS` (sent as the request's token limit),
`HRDD_LLM_TIMEOUT_S` (the longest wait for the next piece of the reply: a silent server) and
`HRDD_LLM_DEADLINE_S` (the whole answer, however steadily it streams). When a bound is hit the
stream is closed, which closes the connection, so the server stops generating.

Only a reply that ends with a stop reason counts as complete. A reply cut at the token limit,
a stream that ends with no reason, a malformed event, a server error: each raises `LLMFailure`
with a `reason` an operator can count and a sentence a user can read.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.settings import LLMSettings

log = logging.getLogger(__name__)

INSTALL_HINT = "install the LLM extra: pip install 'hrdd-assistant[llm]'"
NETWORK_PROVIDERS = ("openai", "ollama")  # their streams say why they ended
STOPPED = ("stop", "eos", "end_turn", "stop_sequence")
REASONS = {  # reason -> what the user reads before "so this answer was composed ..."
    "unreachable": "The language model could not be reached",
    "timed_out": "The language model did not finish in time",
    "server_error": "The language model's server returned an error",
    "bad_response": "The language model's server sent a reply that could not be read",
    "cut_off": "The language model's answer was cut off at its length limit",
    "incomplete": "The language model's answer ended before it was complete",
    "not_configured": "No language model is configured",
    "unsupported": "Too little of the language model's answer could be matched to the sources",
    "echoed_prompt": "The language model repeated its instructions instead of answering",
    "verdict_only": "The language model gave a verdict without the reasons behind it",
    "off_question": "The language model's answer did not address the question",
    "declined": "The language model found no answer in the sources",
    "weak_match": "The library matches this question only loosely, so no answer was generated",
}


class LLMFailure(Exception):
    """No usable reply from the language model; the caller falls back to the extractive answer."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)

    @property
    def notice(self) -> str:
        return fallback_notice(self.reason, self.detail)


def fallback_notice(reason: str, detail: str = "") -> str:
    what = REASONS.get(reason, "The language model's answer could not be used")
    detail = f" ({detail})" if detail else ""
    return (f"{what}{detail}, so this answer was composed from the library's own sentences "
            "instead.")


@dataclass
class Generation:
    """A complete reply and what it cost."""

    text: str
    finish_reason: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    timings: dict[str, float] = field(default_factory=dict)


def build_chat_model(s: LLMSettings):
    """The LangChain chat model for `s.provider`; vendor packages are imported only when chosen."""
    match s.provider:
        case "openai":  # any OpenAI-compatible server: vLLM, llama.cpp server, LM Studio
            try:
                from langchain_openai import ChatOpenAI
            except ImportError as e:
                raise LLMFailure("not_configured", INSTALL_HINT) from e
            return ChatOpenAI(base_url=s.base_url, model=s.model, api_key=s.api_key or "not-needed",
                              temperature=s.temperature, timeout=s.timeout_s, max_retries=0,
                              max_tokens=s.max_tokens, stream_usage=True,
                              # older servers (llama.cpp) read max_tokens, not its new name
                              extra_body={"max_tokens": s.max_tokens})
        case "ollama":
            try:
                from langchain_ollama import ChatOllama
            except ImportError as e:
                raise LLMFailure("not_configured", INSTALL_HINT) from e
            return ChatOllama(base_url=s.base_url or "http://127.0.0.1:11434", model=s.model,
                              temperature=s.temperature, num_predict=s.max_tokens,
                              client_kwargs={"timeout": s.timeout_s})
        case "fake":  # offline demos and tests: quotes the first sources, cited
            from assistant.llm.quoting import QuotingChatModel

            return QuotingChatModel()
        case _:
            raise LLMFailure("not_configured", f"provider {s.provider!r}")


_END = object()


def generate(chat_model, messages: list, s: LLMSettings,
             on_token: Callable[[str], None] | None = None, config=None) -> Generation:
    """Stream one reply within the bounds; raise `LLMFailure` unless it is complete.

    The stream is read in a worker thread, so the deadline holds even while the server is
    silent; the worker closes the stream (and so the connection) when told to stop.
    """
    pieces: queue.Queue = queue.Queue()
    stop = threading.Event()
    started = time.perf_counter()

    def read() -> None:
        stream = chat_model.stream(messages, config=config)
        try:
            for chunk in stream:
                pieces.put(chunk)
                if stop.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            pieces.put(exc)
        finally:
            stream.close()
            pieces.put(_END)

    threading.Thread(target=read, daemon=True, name="hrdd-llm-stream").start()
    text: list[str] = []
    meta: dict = {}
    usage: dict = {}
    timings: dict[str, float] = {}
    try:
        while True:
            left = s.deadline_s - (time.perf_counter() - started)
            if left <= 0:
                raise LLMFailure("timed_out", f"no complete answer within {s.deadline_s:g} s")
            try:
                item = pieces.get(timeout=left)
            except queue.Empty:
                continue  # the loop raises on the deadline
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise _failure(item) from item
            meta.update({k: v for k, v in (item.response_metadata or {}).items() if v is not None})
            if getattr(item, "usage_metadata", None):
                usage = dict(item.usage_metadata)
            token = item.text
            if token:
                timings.setdefault("first_token", time.perf_counter() - started)
                text.append(token)
                if on_token:
                    on_token(token)
    finally:
        stop.set()
    finish = meta.get("finish_reason") or meta.get("done_reason") or meta.get("stop_reason")
    timings["generate"] = time.perf_counter() - started
    out = Generation("".join(text).strip(), finish, usage.get("input_tokens"),
                     usage.get("output_tokens"), timings)
    if finish == "length":
        raise LLMFailure("cut_off", f"{s.max_tokens} tokens")
    if s.provider in NETWORK_PROVIDERS and finish not in STOPPED:
        raise LLMFailure("incomplete", "the stream ended without a stop reason" if not finish
                         else f"it ended with {finish!r}")
    return out


def _failure(exc: BaseException) -> LLMFailure:
    """The reason a client exception stands for."""
    if isinstance(exc, LLMFailure):
        return exc
    log.warning("The language model failed: %s: %s", type(exc).__name__, exc)
    names = {c.__name__ for c in type(exc).__mro__}
    status = getattr(exc, "status_code", None)
    if names & {"APITimeoutError", "TimeoutException", "TimeoutError", "ReadTimeout"}:
        return LLMFailure("timed_out", "the server stopped sending")
    if names & {"APIConnectionError", "ConnectError", "ConnectionError", "TransportError"}:
        return LLMFailure("unreachable", str(exc)[:120])
    if status is not None or "APIStatusError" in names or "ResponseError" in names:
        return LLMFailure("server_error", f"HTTP {status}" if status else str(exc)[:120])
    return LLMFailure("bad_response", f"{type(exc).__name__}")
