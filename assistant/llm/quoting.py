"""The "fake" provider: an offline chat model that answers by quoting its first two sources.

It runs the whole LLM path (prompt, stream, verification, citations) with no server and no
weights, for demonstrations and tests. Its reply is the first statement (not a question) of
sources [1] and [2], word for word, each with its marker, so it passes verification.
"""

from __future__ import annotations

import re

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from assistant.library.sentences import sentence_spans

SOURCE = re.compile(r'<source id="(\d+)"[^>]*>\n(.*?)\n</source>', re.S)


def quoting_reply(prompt: str, n: int = 2) -> str:
    """The first sentence of each of the first `n` sources, cited."""
    lines = []
    for number, body in SOURCE.findall(prompt)[:n]:
        for a, b in sentence_spans(body):
            sentence = " ".join(body[a:b].lstrip("-*# ").split())
            if len(sentence.split()) >= 6 and not sentence.endswith("?"):
                lines.append(f"{sentence} [{number}]")
                break
    return "\n\n".join(lines) or "The sources do not answer this question."


class QuotingChatModel(BaseChatModel):
    """A chat model that quotes its sources (see the module's docstring)."""

    @property
    def _llm_type(self) -> str:
        return "hrdd-quoting"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        reply = quoting_reply(str(messages[-1].content))
        message = AIMessage(reply, response_metadata={"finish_reason": "stop"})
        return ChatResult(generations=[ChatGeneration(message=message)])
