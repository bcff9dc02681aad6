"""The library plugged into a LangChain user's own chain and agent tool."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from langchain_core.tools import create_retriever_tool

from assistant.composition import build_assistant
from assistant.library.langchain_retriever import LibraryRetriever

pytestmark = pytest.mark.slow
QUESTION = "The police want a user's data without a court order; what should we do?"


class Recorder(BaseCallbackHandler):
    def __init__(self):
        self.events: list[str] = []

    def on_retriever_start(self, serialized, query, **kwargs):
        self.events.append(f"retriever:{query}")

    def on_chat_model_start(self, serialized, messages, **kwargs):
        self.events.append("chat:" + messages[0][-1].content)


@pytest.fixture(scope="module")
def retriever(corpus_library):
    return LibraryRetriever(retriever=build_assistant(corpus_library.settings,
                                                      library=corpus_library).retriever)


def test_documents_carry_their_location_scores_and_the_relevance_verdict(retriever):
    docs = retriever.invoke(QUESTION)

    assert docs and all(d.metadata["relevant"] for d in docs)
    assert {"doc_id", "section", "score", "dense_score", "keyword_score"} <= set(docs[0].metadata)
    assert not retriever.invoke("What is the capital of Australia?")[0].metadata["relevant"]


def test_filters_apply_per_retriever_and_per_call(retriever):
    cases_only = retriever.model_copy(update={"kinds": ("case-study",)})

    assert {d.metadata["kind"] for d in cases_only.invoke(QUESTION)} == {"case-study"}
    assert {d.metadata["doc_id"] for d in retriever.invoke(QUESTION, doc_ids=["ungp"])} == {"ungp"}


def test_async_and_batch_give_the_same_documents(retriever):
    sync = [d.id for d in retriever.invoke(QUESTION)]

    assert [d.id for d in asyncio.run(retriever.ainvoke(QUESTION))] == sync
    assert [d.id for d in retriever.batch([QUESTION, QUESTION])[1]] == sync


def test_a_users_chain_with_a_chat_model_gets_the_passages_and_the_callbacks(retriever):
    recorder = Recorder()
    prompt = ChatPromptTemplate.from_messages([("human", "Context:\n{context}\n\nQ: {q}")])
    chain = ({"context": retriever | RunnableLambda(lambda ds: "\n".join(d.page_content
                                                                         for d in ds)),
              "q": RunnablePassthrough()}
             | prompt | FakeListChatModel(responses=["Ask for a written demand."]))

    reply = chain.invoke(QUESTION, config={"callbacks": [recorder]})

    assert reply.content == "Ask for a written demand."
    assert recorder.events[0] == f"retriever:{QUESTION}"
    chat = next(e for e in recorder.events if e.startswith("chat:"))
    assert "written" in chat and QUESTION in chat  # the library's passages reached the model


def test_an_agent_tool_returns_the_librarys_text(retriever):
    tool = create_retriever_tool(retriever, "hrdd_library", "Human-rights due-diligence guidance")

    out = tool.invoke({"query": QUESTION})

    assert "written" in out.lower()
