"""LLM mode: a chat model answers from fenced sources, within bounds, and verification decides
whether its answer is shown (see `answerer`); any failure falls back to the extractive answer."""

from assistant.llm.answerer import LLMAnswerer
from assistant.llm.client import LLMFailure, build_chat_model, generate
from assistant.llm.prompt import SYSTEM_PROMPT, build_messages
from assistant.llm.verify import passage_sentences, read_claims

__all__ = ["SYSTEM_PROMPT", "LLMAnswerer", "LLMFailure", "build_chat_model", "build_messages",
           "generate", "passage_sentences", "read_claims"]
