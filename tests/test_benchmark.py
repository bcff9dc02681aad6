"""The benchmark runs end to end and reports every headline number; ONNX matches PyTorch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from assistant.library.embedder import MiniLMEmbeddings
from assistant.settings import Settings
from evals.bench.run import HEADLINE, Benchmark, BenchPlan, LabelledQuestion
from tests.conftest import CORPUS

SENTENCES = [
    "What should an operator do when a government orders a network shutdown?",
    "Lawful interception requests must be authorised by an independent judge.",
    "hello",
    "The buyer is a state security agency in a country with a record of surveilling "
    "journalists, and the product is a deep packet inspection appliance. " * 6,
]


@pytest.fixture
def tiny_corpus(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    for name in ("guidance/shutdowns-content-restriction.md",
                 "case-studies/case-election-shutdown.md", "guidance/meeting-venues.md"):
        shutil.copy(CORPUS / name, folder)
    return folder


@pytest.mark.slow
def test_a_quick_run_reports_every_headline_number_and_saves_json_and_markdown(tiny_corpus,
                                                                              tmp_path):
    from evals.bench.report import save

    plan = BenchPlan(sources=(("tiny", (tiny_corpus,)),), questions=12, scales=(300,),
                     large_scales=(2_000,), scale_queries=20, backends=("torch",),
                     batch_sizes=(16,), thread_counts=(1,), grid_chunks=16, load_seconds=5)
    labelled = [LabelledQuestion("What should a company do when ordered to shut down the network "
                                 "before an election?", ("shutdowns-content-restriction",
                                                         "case-election-shutdown"))]
    result = Benchmark(Settings(_env_file=None), plan, labelled).run()

    headline = result["headline"]
    assert set(headline) == set(HEADLINE)
    assert all(isinstance(v, float | int) and v > 0 for v in headline.values()), headline
    assert result["queries"]["questions"] == 12
    (scale,) = result["scale"]
    assert scale["chunks"] == 300 and scale["store_writes_per_s"] > 0 and scale["rss_mb"] > 0
    (large,) = result["large_scale"]  # the retriever's holding, texts read by id from a file
    assert large["chunks"] == 2_000 and large["keyword"]["n"] == 20
    assert 0 < large["chunk_table_mb"] < large["retriever_chunk_list_mb"]
    load = result["load"]  # two app processes asking through one Chroma server
    assert load["answers"] > 0 and load["errors"] == 0, load["error_sample"]
    (torch_row,) = result["backends"]["rows"]
    assert torch_row["recall_at_5"] == 1.0  # the two labelled documents are the library
    assert result["decision"]["default_backend"] == "torch"

    folder = save(result, tmp_path / "bench")
    assert json.loads((folder / "bench.json").read_text())["headline"] == headline
    markdown = (folder / "bench.md").read_text()
    assert "| retrieval |" in markdown and "ingest ratio" in markdown
    assert f"run {result['run_id']}" in markdown and "Load average" in markdown


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def torch_embedder():
    return MiniLMEmbeddings(Settings(_env_file=None, embedding_backend="torch").embedding).load()


def test_the_default_backend_is_onnx_float32():
    assert Settings(_env_file=None).embedding_backend == "onnx"


@pytest.mark.slow
def test_onnx_embeddings_match_pytorch_ones_but_go_in_libraries_of_their_own(
        embedder, torch_embedder, make_settings):
    """ONNX float32 (the default) gives PyTorch's vectors to rounding, but a library records
    which backend built it, and a switch asks for a rebuild instead of mixing the two."""
    from assistant.composition import Library
    from assistant.library.store import LibraryMismatch
    from ingest.pipeline import ingest

    assert embedder.settings.backend == "onnx"
    assert cosines(embedder.encode(SENTENCES), torch_embedder.encode(SENTENCES)).min() >= 0.9999
    assert embedder.dimension == torch_embedder.dimension
    assert embedder.max_tokens == torch_embedder.max_tokens

    settings = make_settings()
    library = Library(settings, embedder=torch_embedder)  # as every library before the switch
    ingest(library, [CORPUS / "guidance" / "meeting-venues.md"])
    with pytest.raises(LibraryMismatch, match=r"'torch' embedding backend, but the settings ask "
                                              r"for 'onnx'.*--rebuild.*HRDD_EMBEDDING_BACKEND=torch"):
        ingest(Library(settings, client=library.store.client, embedder=embedder),
               [CORPUS / "guidance" / "ungp.md"])
    switched = Library(settings, client=library.store.client, embedder=embedder)
    rebuilt = ingest(switched, [CORPUS / "guidance" / "meeting-venues.md"], rebuild=True)
    assert [o.outcome for o in rebuilt.outcomes] == ["added"]
    assert switched.store.fingerprint()["model"] == embedder.model_id
    switched.store.check_compatible(embedder.model_id)  # answers come from ONNX vectors now


@pytest.mark.slow
def test_int8_embeddings_are_close_but_kept_apart_from_float_libraries(embedder, make_settings):
    from assistant.composition import Library
    from assistant.library.store import LibraryMismatch
    from ingest.pipeline import ingest

    int8 = MiniLMEmbeddings(Settings(_env_file=None, embedding_backend="onnx-int8").embedding)
    assert cosines(int8.encode(SENTENCES), embedder.encode(SENTENCES)).min() >= 0.95
    assert int8.model_id != embedder.model_id

    settings = make_settings()
    library = Library(settings, embedder=embedder)
    ingest(library, [CORPUS / "guidance" / "meeting-venues.md"])
    with pytest.raises(LibraryMismatch, match="onnx-int8"):
        ingest(Library(settings, client=library.store.client, embedder=int8),
               [CORPUS / "guidance" / "ungp.md"])


def backend_row(name: str, speedup: float, recall: float, mrr: float, invariance: float) -> dict:
    return {"backend": name, "speedup": speedup, "recall_at_5": recall, "mrr_at_10": mrr,
            "dense_recall_at_5": recall - 0.1, "dense_mrr_at_10": mrr - 0.1,
            "batch_invariance": invariance}


@pytest.mark.parametrize(("int8", "expected"), [
    # the 2026-11-30 measurement: fast enough, recall within a point, but MRR 2 points lower
    # and vectors that change with their batch neighbours
    (backend_row("onnx-int8", 1.68, 0.728, 0.830, 0.992), "torch"),
    (backend_row("onnx-int8", 1.68, 0.734, 0.851, 1.0), "onnx-int8"),
    # a point of recall lower: more than the half point the issue allows
    (backend_row("onnx-int8", 1.68, 0.728, 0.851, 1.0), "torch"),
    (backend_row("onnx-int8", 1.40, 0.738, 0.852, 1.0), "torch"),
    (backend_row("onnx-int8", 1.68, 0.720, 0.852, 1.0), "torch"),
])
def test_an_onnx_backend_becomes_the_default_only_when_faster_and_as_good(int8, expected):
    from evals.bench.run import decide

    result = {"backends": {"rows": [backend_row("torch", 1.0, 0.738, 0.852, 1.0),
                                    backend_row("onnx", 0.95, 0.738, 0.852, 1.0), int8]}}
    decision = decide(result)
    assert decision["default_backend"] == expected
    assert decision["candidates"]["onnx"]["checks"]["fast"] is False


@pytest.mark.slow
def test_the_bundled_model_gives_sentence_transformers_vectors_without_importing_it(
        torch_embedder):
    """The cold start's largest cost was importing sentence-transformers (with transformers,
    SciPy and scikit-learn); the bundled model runs without them, with the same vectors."""
    embedder = torch_embedder
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(embedder.settings.model, device="cpu", local_files_only=True)
    texts = [*SENTENCES, *(p.read_text()[:4000] for p in sorted(CORPUS.rglob("*.md"))[:12])]
    expected = reference.encode(texts, batch_size=16, normalize_embeddings=True)
    got = embedder.encode(texts)
    assert np.abs(got - expected).max() < 1e-5
    assert embedder.max_tokens == reference.max_seq_length - 2
    assert embedder.dimension == reference.get_embedding_dimension()

    # PyTorch's own import is the default ONNX backend's saving (its export is made once)
    heavy = ("sentence_transformers", "transformers", "sklearn", "scipy", "torch")
    for backend, loaded in (("torch", ["torch"]), ("onnx", [])):
        probe = ("import json, sys\n"
                 "from assistant.library.embedder import MiniLMEmbeddings\n"
                 "from assistant.settings import Settings\n"
                 f"MiniLMEmbeddings(Settings(_env_file=None, embedding_backend={backend!r})"
                 ".embedding).embed_query('a question')\n"
                 f"print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))\n")
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              timeout=300, cwd=CORPUS.parent)
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout.strip().splitlines()[-1]) == loaded, backend
