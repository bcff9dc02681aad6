"""Mean-pooled sentence embeddings as sentence-transformers makes them, on plain PyTorch or ONNX.

The bundled all-MiniLM-L6-v2 is a BERT encoder, mean pooling and normalisation. Importing
sentence-transformers to run it costs more than running it: it brings transformers, SciPy and
scikit-learn, about 3 of the 4 seconds a new process spent loading the model on an idle
2-core machine (20 s or more on a loaded one). So a model of that shape (`plain_bert()`) runs
here: the tokenizer is the model's own fast tokenizer, texts are sorted longest first and
padded to the longest of each batch, tokens are mean-pooled over the attention mask and the
result is normalised, all as sentence-transformers does; `TorchBertEncoder` computes the
token embeddings with the model's own weights (safetensors) in a dozen lines of PyTorch, and
`onnx_export.OnnxSentenceEncoder` on ONNX Runtime. tests/test_benchmark.py holds both to the
vectors sentence-transformers gives. Any other model goes through sentence-transformers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ST_PIPELINE = ["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
               "sentence_transformers.models.Normalize"]


def plain_bert(model_path: str | Path) -> bool:
    """Whether the model folder is a BERT, mean pooling and normalisation, in safetensors."""
    root = Path(model_path)
    try:
        modules = [m["type"] for m in json.loads((root / "modules.json").read_text())]
        pooling = json.loads((root / "1_Pooling" / "config.json").read_text())
        config = json.loads((root / "config.json").read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return False
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
    return (modules == ST_PIPELINE and modes == {"pooling_mode_mean_tokens"}
            and config.get("model_type") == "bert" and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and (root / "model.safetensors").is_file())


class PooledEncoder:
    """Tokenise, batch, pool and normalise; subclasses compute the token embeddings."""

    _dimension: int

    def __init__(self, model_path: str | Path):
        from tokenizers import Tokenizer  # light: the Rust tokenizer, no model framework

        config = json.loads((Path(model_path) / "sentence_bert_config.json").read_text())
        self.max_seq_length = int(config.get("max_seq_length", 256))
        self._tok = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
        # The shipped tokenizer.json pads every input to 128; sentence-transformers pads to
        # the longest in the batch and truncates at max_seq_length: do the same.
        self._tok.enable_truncation(self.max_seq_length)
        self._tok.enable_padding(pad_id=0, pad_token="[PAD]")

    def get_embedding_dimension(self) -> int:
        return self._dimension

    def encode(self, sentences: list[str], batch_size: int = 32, normalize_embeddings: bool = True,
               convert_to_numpy: bool = True, show_progress_bar: bool = False) -> np.ndarray:
        """A float32 matrix, one row per sentence (the keyword arguments mirror sentence-transformers)."""
        texts = list(sentences)
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        # Longest first, as sentence-transformers does, so each batch pads little.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            out[idx] = self._embed([texts[i] for i in idx])
        if normalize_embeddings:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def _embed(self, texts: list[str]) -> np.ndarray:
        enc = self._tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        types = np.array([e.type_ids for e in enc], dtype=np.int64)
        tokens = self._token_embeddings(ids, mask, types)
        weights = mask[..., None].astype(np.float32)
        return (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)

    def _token_embeddings(self, ids: np.ndarray, mask: np.ndarray,
                          types: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class TorchBertEncoder(PooledEncoder):
    """A BERT encoder's forward pass (inference only) on the model's own weights."""

    def __init__(self, model_path: str | Path):
        super().__init__(model_path)
        import torch  # lazy: the heaviest import of the app
        from safetensors.torch import load_file

        root = Path(model_path)
        cfg = json.loads((root / "config.json").read_text())
        self._torch = torch
        self._w = load_file(str(root / "model.safetensors"))
        self._w = {k.removeprefix("bert."): v.float() for k, v in self._w.items()}
        self._dimension = int(cfg["hidden_size"])
        self._heads = int(cfg["num_attention_heads"])
        self._layers = int(cfg["num_hidden_layers"])
        self._eps = float(cfg.get("layer_norm_eps", 1e-12))

    def _token_embeddings(self, ids, mask, types) -> np.ndarray:
        torch, w, eps = self._torch, self._w, self._eps
        functional = torch.nn.functional
        ids, types = torch.from_numpy(ids), torch.from_numpy(types)
        batch, length = ids.shape
        heads, width = self._heads, self._dimension // self._heads

        def linear(x, name):
            return functional.linear(x, w[f"{name}.weight"], w[f"{name}.bias"])

        def norm(x, name):
            return functional.layer_norm(x, (self._dimension,), w[f"{name}.weight"],
                                         w[f"{name}.bias"], eps)

        def split(x):
            return x.view(batch, length, heads, width).transpose(1, 2)

        with torch.inference_mode():
            e = "embeddings"
            x = (w[f"{e}.word_embeddings.weight"][ids] + w[f"{e}.position_embeddings.weight"][
                :length][None] + w[f"{e}.token_type_embeddings.weight"][types])
            x = norm(x, f"{e}.LayerNorm")
            attend = torch.from_numpy(mask).bool()[:, None, None, :]
            for i in range(self._layers):
                p = f"encoder.layer.{i}"
                q, k, v = (split(linear(x, f"{p}.attention.self.{n}"))
                           for n in ("query", "key", "value"))
                a = functional.scaled_dot_product_attention(q, k, v, attn_mask=attend)
                a = a.transpose(1, 2).reshape(batch, length, self._dimension)
                x = norm(linear(a, f"{p}.attention.output.dense") + x,
                         f"{p}.attention.output.LayerNorm")
                h = functional.gelu(linear(x, f"{p}.intermediate.dense"))
                x = norm(linear(h, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
            return x.numpy()
