"""The library as a LangChain retriever, for users who build their own chains and agents.

`LibraryRetriever` is a `langchain_core` `BaseRetriever` over the hybrid retriever: it `invoke`s
and `ainvoke`s (and so batches, streams and takes `RunnableConfig` callbacks like any
retriever), takes filters as fields or per call, and puts each passage's location, scores and
the library's relevance verdict in the `Document` metadata. When the library does not cover a
question the documents still come back (the nearest ones), marked `relevant: False`, so an
agent can tell the user rather than answer from them.

    from langchain_core.tools import create_retriever_tool
    tool = create_retriever_tool(LibraryRetriever(retriever=assistant.retriever),
                                 "hrdd_library", "Human-rights due-diligence guidance")
"""

from __future__ import annotations

import asyncio

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.library.retriever import Filters, HybridRetriever


class LibraryRetriever(BaseRetriever):
    """Hybrid retrieval over the HRDD library, as LangChain `Document`s."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: HybridRetriever
    k: int = 6
    kinds: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None, kinds=None, topics=None,
                                doc_ids=None) -> list[Document]:
        filters = Filters(tuple(kinds if kinds is not None else self.kinds),
                          tuple(topics if topics is not None else self.topics),
                          tuple(doc_ids if doc_ids is not None else self.doc_ids))
        found = self.retriever.retrieve(query, k or self.k, filters)
        return [Document(page_content=p.text, id=p.chunk_id, metadata={
            "doc_id": p.doc_id, "title": p.title, "kind": p.kind, "section": p.section,
            "page": p.page, "location": p.location, "start": p.start, "end": p.end,
            "score": p.score, "dense_score": p.dense_score, "keyword_score": p.keyword_score,
            "relevant": found.relevant, "weak_match": found.weak, "question_type": found.kind,
        }) for p in found.passages]

    async def _aget_relevant_documents(self, query: str, *,
                                       run_manager: AsyncCallbackManagerForRetrieverRun,
                                       **kwargs) -> list[Document]:
        # The store and the encoder are synchronous: run them off the event loop.
        return await asyncio.to_thread(self._get_relevant_documents, query,
                                       run_manager=run_manager.get_sync(), **kwargs)
