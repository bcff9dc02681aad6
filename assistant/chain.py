"""The answer pipeline as a LangChain Runnable: retrieve, then decline or compose / generate,
then verify (`Assistant.answer` does the steps; this is their LangChain face).

    pipeline = AnswerPipeline(assistant)
    pipeline.invoke("May we sell ...?")                       # an Answer
    pipeline.invoke({"question": q, "history": [previous], "filters": Filters(...)})
    for piece in pipeline.stream(q): ...                       # text as written, then the Answer
    pipeline.batch([q1, q2])                                   # Answers, in order

The config's callbacks see the pipeline as one chain run, and the chat model (LLM mode) runs
as its child, so a user's tracer or handler sees the model calls too. The CLI and the web app
answer through this pipeline.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import ensure_config, patch_config

from assistant.answer import Answer
from assistant.library.retriever import Filters

_DONE = object()


def _request(value: Any) -> dict:
    if isinstance(value, str):
        return {"question": value}
    if isinstance(value, dict) and isinstance(value.get("question"), str):
        return value
    raise TypeError("the answer pipeline takes a question, or a dict with 'question' (and "
                    "optionally 'history', 'filters', 'mode', 'k')")


class AnswerPipeline(Runnable[Any, Answer]):
    """retrieve -> decline, or compose (extractive) / generate and verify (LLM) -> Answer."""

    name = "hrdd_answer"

    def __init__(self, assistant):
        self.assistant = assistant

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs) -> Answer:
        return self._call_with_config(self._run, input, ensure_config(config), run_type="chain")

    def _run(self, input: Any, run_manager=None, config: RunnableConfig | None = None,
             on_token=None) -> Answer:
        req = _request(input)
        child = patch_config(config, callbacks=run_manager.get_child()) if run_manager else config
        return self.assistant.answer(req["question"], req.get("history", ()),
                                     mode=req.get("mode"), k=req.get("k"),
                                     filters=req.get("filters") or Filters(),
                                     on_token=on_token, config=child)

    def stream(self, input: Any, config: RunnableConfig | None = None,
               **kwargs) -> Iterator[str | Answer]:
        """The answer's text as it is written (tokens in LLM mode, the whole text otherwise),
        then the finished `Answer` as the last item."""
        pieces: queue.Queue = queue.Queue()
        result: dict = {}
        config = ensure_config(config)

        def work() -> None:
            try:
                result["answer"] = self._call_with_config(
                    lambda i, run_manager=None, config=None: self._run(
                        i, run_manager, config, on_token=pieces.put),
                    input, config, run_type="chain")
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                result["error"] = exc
            finally:
                pieces.put(_DONE)

        threading.Thread(target=work, daemon=True, name="hrdd-answer").start()
        while (piece := pieces.get()) is not _DONE:
            yield piece
        if "error" in result:
            raise result["error"]
        yield result["answer"]
