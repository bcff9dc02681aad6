"""The pipelines an evaluation compares: ours, keyword-only, dense-only and a naive LangChain RAG.

Each pipeline answers two calls: `retrieve(question, k)` (a ranked list of passages) and
`answer(question)` (an `Answer`), and says where a passage sits (`where`) so the metrics
can compare it with the labels.

- "ours": the Assistant (hybrid retrieval, relevance gate, extractive or LLM answer).
- "keyword": our BM25 index alone; declines when the best BM25 score is below
  `HRDD_MIN_KEYWORD`; answers with our extractive composer (no checklist).
- "dense": our Chroma vectors alone; declines when the best cosine similarity is below
  `HRDD_MIN_DENSE`; answers with our extractive composer (no checklist).
- "naive": RAG as LangChain's tutorials build it: the corpus files read whole,
  `RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`, an in-memory
  `langchain_chroma.Chroma` with our embedder and explicit stable ids, dense top-4, no
  keyword search. The answer is the first two sentences of each of the four chunks, each
  cited (no LLM). It never declines: the tutorials have no relevance gate, and a fixed
  similarity threshold would be a tuning choice the naive baseline does not make.

Keyword and dense rank without our duplicate collapsing and diversification, so the
difference from "ours" is the whole of the retrieval design.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.answer import Answer, Citation, Passage
from evals.metrics import Retrieved, section_number

PIPELINES = ("naive", "keyword", "dense", "ours")
NAIVE_CHUNK, NAIVE_OVERLAP, NAIVE_K, NAIVE_SENTENCES = 1000, 200, 4, 2


def where_in_library(p: Passage) -> Retrieved:
    """A library passage sits in one section (its heading's number) or on one page."""
    number = section_number(p.section)
    return Retrieved(p.doc_id, (number,) if number else (), p.page)


class OursPipeline:
    """The assistant as users get it."""

    assesses_deals = True

    def __init__(self, assistant, mode: str | None = None, name: str = "ours"):
        self.assistant = assistant
        self.mode = mode
        self.name = name

    def retrieve(self, question: str, k: int) -> list[Passage]:
        return list(self.assistant.retrieve(question, k).passages)

    def answer(self, question: str) -> Answer:
        return self.assistant.answer(question, mode=self.mode)

    def where(self, p: Passage) -> Retrieved:
        return where_in_library(p)

    def guidance(self, query: str) -> list[Citation]:
        return self.assistant.guidance(query)


class _SingleRetrieverPipeline:
    """Shared by keyword-only and dense-only: rank, gate on one score, compose extractively."""

    assesses_deals = False
    name = ""

    def __init__(self, assistant):
        self.assistant = assistant
        self.settings = assistant.settings.retrieval

    def ranked(self, question: str, n: int) -> tuple[list[Passage], float]:
        raise NotImplementedError

    def relevant(self, best: float) -> bool:
        raise NotImplementedError

    def retrieve(self, question: str, k: int) -> list[Passage]:
        return self.ranked(question, k)[0]

    def where(self, p: Passage) -> Retrieved:
        return where_in_library(p)

    def answer(self, question: str) -> Answer:
        from assistant.answer import DECLINE
        from assistant.extractive import Composer
        from assistant.question import question_type

        started = time.perf_counter()
        passages, best = self.ranked(question, self.settings.k)
        if not passages or not self.relevant(best):
            return Answer(question, DECLINE, declined=True, passages=tuple(passages),
                          timings={"total": time.perf_counter() - started})
        composer = Composer(self.assistant.retriever.sections, self.assistant.library.sentences)
        vector = self.assistant.library.embedder.embed_query(question)
        parts, cites = composer.compose(question, question_type(question), vector, passages, None)
        return Answer(question, parts.render_text(), tuple(cites), passages=tuple(passages),
                      timings={"total": time.perf_counter() - started}, parts=parts)


class KeywordPipeline(_SingleRetrieverPipeline):
    """Our BM25 index alone."""

    name = "keyword"

    def ranked(self, question: str, n: int) -> tuple[list[Passage], float]:
        from assistant.library.retriever import to_passage

        index = self.assistant.retriever.index
        hits = index.search(question, n)
        passages = [to_passage(index.chunks[h.index], h.score, None, h.score) for h in hits]
        return passages, max((h.score for h in hits), default=0.0)

    def relevant(self, best: float) -> bool:
        return best >= self.settings.min_keyword


class DensePipeline(_SingleRetrieverPipeline):
    """Our vector search alone."""

    name = "dense"

    def ranked(self, question: str, n: int) -> tuple[list[Passage], float]:
        from assistant.library.retriever import to_passage

        retriever = self.assistant.retriever
        vector = self.assistant.library.embedder.embed_query(question)
        chunks = retriever.store.query(vector, n)
        passages = [to_passage(c, c.similarity, c.similarity, None) for c in chunks]
        return passages, max((c.similarity for c in chunks), default=0.0)

    def relevant(self, best: float) -> bool:
        return best >= self.settings.min_dense


@dataclass(frozen=True)
class _Heading:
    start: int
    number: str | None
    text: str


class NaivePipeline:
    """A tutorial-style LangChain RAG over the same corpus files, with our embedder."""

    name = "naive"
    assesses_deals = False

    def __init__(self, corpus_dir: Path, embedder):
        self.embedder = embedder
        started = time.perf_counter()
        self.store, self.chunks = _build_naive_store(corpus_dir, embedder)
        self.build_seconds = time.perf_counter() - started

    def retrieve(self, question: str, k: int) -> list[Passage]:
        return [_naive_passage(doc, score)
                for doc, score in self.store.similarity_search_with_score(question, k=k)]

    def where(self, p: Passage) -> Retrieved:
        return Retrieved(p.doc_id, tuple(s for s in p.context.split("|") if s), None)

    def answer(self, question: str) -> Answer:
        from assistant.library.sentences import split_sentences

        started = time.perf_counter()
        passages = self.retrieve(question, NAIVE_K)
        lines, cites = ["Here is what the retrieved documents say:", ""], []
        for p in passages:
            for sentence in split_sentences(p.text)[:NAIVE_SENTENCES]:
                n = len(cites) + 1
                start = p.text.find(sentence)
                cites.append(Citation(n, p.doc_id, p.title, sentence, section=p.section,
                                      start=p.start + start, end=p.start + start + len(sentence),
                                      passage=p.text))
                lines.append(f"- {' '.join(sentence.split())} [{n}]")
        return Answer(question, "\n".join(lines), tuple(cites), passages=tuple(passages),
                      timings={"total": time.perf_counter() - started})


def _build_naive_store(corpus_dir: Path, embedder):
    """Load the files whole, split 1000/200, embed into an in-memory Chroma collection."""
    import chromadb  # lazy: heavy imports, only for --compare
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from ingest.documents import HEADING, parse_file
    from ingest.pipeline import discover

    files, _, _ = discover([corpus_dir])
    documents, headings = [], {}
    for f in files:
        if f.suffix.lower() == ".pdf":
            continue
        data = f.read_bytes()
        parsed = parse_file(f.resolve(), data)  # only for the doc id and title the labels use
        text = data.decode("utf-8")
        headings[parsed.doc_id] = [_Heading(m.start(), section_number(m.group(2)), m.group(2))
                                   for m in HEADING.finditer(text)]
        documents.append(Document(page_content=text, metadata={
            "source": str(f), "doc_id": parsed.doc_id, "title": parsed.title}))
    splitter = RecursiveCharacterTextSplitter(chunk_size=NAIVE_CHUNK, chunk_overlap=NAIVE_OVERLAP,
                                              add_start_index=True)
    chunks = splitter.split_documents(documents)
    ids = []
    for c in chunks:
        m = c.metadata
        start, end = m["start_index"], m["start_index"] + len(c.page_content)
        covered = [h for h in headings[m["doc_id"]] if h.start < end]
        inside = [h for i, h in enumerate(covered)
                  if i + 1 == len(covered) or covered[i + 1].start > start]
        m["sections"] = "|".join(h.number for h in inside if h.number)
        m["section"] = inside[0].text if inside else ""
        m["chunk_id"] = f"{m['doc_id']}:{start}"
        ids.append(m["chunk_id"])
    client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
    store = Chroma(collection_name=f"naive-{uuid.uuid4().hex[:8]}", embedding_function=embedder,
                   client=client)
    store.add_documents(chunks, ids=ids)
    return store, chunks


def _naive_passage(doc, score: float) -> Passage:
    m = doc.metadata
    start = int(m["start_index"])
    return Passage(chunk_id=m["chunk_id"], doc_id=m["doc_id"], title=m["title"], kind="",
                   text=doc.page_content, section=m.get("section") or None, start=start,
                   end=start + len(doc.page_content), score=-float(score),
                   context=m.get("sections", ""), source=m["source"])


def build_pipelines(names: Sequence[str], assistant, corpus_dir: Path,
                    progress: Callable[[str], None] | None = None) -> list:
    """The named pipelines over one assistant's library (and the corpus files, for naive).

    When the assistant's settings configure an LLM, "ours" is also run in LLM mode as
    "ours-llm".
    """
    out = []
    for name in names:
        if name == "naive":
            if progress:
                progress("Building the naive LangChain baseline (embedding 1000-character chunks)")
            out.append(NaivePipeline(corpus_dir, assistant.library.embedder))
        elif name == "keyword":
            out.append(KeywordPipeline(assistant))
        elif name == "dense":
            out.append(DensePipeline(assistant))
        elif name == "ours":
            out.append(OursPipeline(assistant, mode="extractive"
                                    if assistant.settings.llm_provider != "none" else None))
            if assistant.settings.llm_provider != "none":
                out.append(OursPipeline(assistant, mode="llm", name="ours-llm"))
        else:
            raise ValueError(f"unknown pipeline {name!r} (known: {', '.join(PIPELINES)})")
    return out
