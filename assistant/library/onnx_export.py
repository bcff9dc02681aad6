"""The bundled all-MiniLM-L6-v2 on ONNX Runtime: exported here, once, from the local weights.

sentence-transformers' own `backend="onnx"` goes through `optimum-onnx`, whose only release
(0.1.0) needs transformers < 4.58 and would downgrade this project's transformers 5; so the
export is done with `torch.onnx.export` (needs the `onnx` package) and the model runs on
`onnxruntime` directly, behind the three things `MiniLMEmbeddings` uses of a
SentenceTransformer: `encode`, `max_seq_length` and `get_embedding_dimension()` (the
tokenising and pooling are `pooled_encoder.PooledEncoder`'s, shared with the PyTorch one).

Nothing is downloaded. The exported files live in a cache folder keyed by a hash of the
model's files: `$XDG_CACHE_HOME/hrdd/onnx/<hash>/` (default `~/.cache/hrdd/onnx/<hash>/`),
never inside site-packages, so one export serves every data directory and a changed model
gets a new folder. `model.onnx` is float32; `model-int8.onnx` is its dynamic int8
quantisation (onnxruntime's `quantize_dynamic`), made on first use.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from assistant.library.pooled_encoder import PooledEncoder

FP32, INT8 = "model.onnx", "model-int8.onnx"
EXPORT_FORMAT = "1"  # bump when the export itself changes, so old caches are not reused
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def default_cache_dir() -> Path:
    """Where exports are kept when no folder is given (the XDG cache convention)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hrdd" / "onnx"


def model_hash(model_path: str | Path) -> str:
    """A short hash of the files that decide the model's output (weights, config, tokenizer)."""
    h = hashlib.sha256(EXPORT_FORMAT.encode())
    root = Path(model_path)
    for name in ("config.json", "tokenizer.json", "sentence_bert_config.json",
                 "1_Pooling/config.json", "model.safetensors", "pytorch_model.bin"):
        f = root / name
        if f.is_file():
            h.update(name.encode())
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()[:16]


def load_onnx_model(model_path: str, quantized: bool = False, threads: int = 0,
                    cache_dir: Path | None = None) -> OnnxSentenceEncoder:
    """The sentence encoder on ONNX Runtime, exported (and quantised) first if not cached."""
    folder = export_model(model_path, cache_dir)
    onnx_file = quantize_model(folder) if quantized else folder / FP32
    return OnnxSentenceEncoder(model_path, onnx_file, threads)


def export_model(model_path: str, cache_dir: Path | None = None) -> Path:
    """The cache folder holding `model.onnx` for this model, exported now if missing."""
    folder = (cache_dir or default_cache_dir()) / model_hash(model_path)
    if (folder / FP32).is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Export into a private folder, then rename: a second process exporting at the same
    # time never sees half a file, and whichever rename loses just discards its copy.
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    try:
        _export(model_path, work / FP32)
        (work / "source.json").write_text(json.dumps({"model_path": str(model_path)}))
        work.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary folder
        try:
            os.replace(work, folder)
        except OSError:
            if not (folder / FP32).is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


def quantize_model(folder: Path) -> Path:
    """`model-int8.onnx` beside `model.onnx`: int8 weights, activations quantised on the fly."""
    target = folder / INT8
    if target.is_file():
        return target
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    work = Path(tempfile.mkdtemp(prefix=".int8-", dir=folder))
    try:
        # The pre-processing pass onnxruntime recommends (graph clean-up before quantising);
        # symbolic shape inference does not finish on this graph, and is not needed.
        quant_pre_process(str(folder / FP32), str(work / "pre.onnx"), skip_symbolic_shape=True)
        # Per-channel scales: cosine to the float model 0.98-0.99 instead of 0.94-0.96.
        quantize_dynamic(str(work / "pre.onnx"), str(work / INT8), per_channel=True,
                         weight_type=QuantType.QInt8)
        os.replace(work / INT8, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _export(model_path: str, target: Path) -> None:
    """Trace the transformer (token embeddings out) to ONNX with dynamic batch and length."""
    import torch  # lazy: only an export needs torch
    from transformers import AutoModel

    # Eager attention traces to plain MatMul/Softmax, which every ONNX Runtime build runs.
    model = AutoModel.from_pretrained(model_path, local_files_only=True,
                                      attn_implementation="eager").eval()

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    sample = torch.ones((2, 8), dtype=torch.int64)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "token_embeddings")}
    # The legacy TorchScript exporter on purpose (the dynamo one needs onnxscript); its
    # deprecation and tracer warnings are about graphs with control flow, which this one has
    # not. tests/test_benchmark.py checks the exported model against PyTorch's vectors.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation, TracerWarning, opset notes: this call only
        torch.onnx.export(TokenEmbeddings(model), (sample, sample, torch.zeros_like(sample)),
                          str(target), dynamo=False, input_names=list(INPUTS),
                          output_names=["token_embeddings"], dynamic_axes=axes,
                          opset_version=17, do_constant_folding=True)


class OnnxSentenceEncoder(PooledEncoder):
    """Mean-pooled sentence embeddings from an ONNX transformer, as sentence-transformers makes them."""

    def __init__(self, model_path: str, onnx_file: Path, threads: int = 0):
        super().__init__(model_path)
        import onnxruntime as ort  # lazy: only the ONNX backends load it

        self.onnx_file = Path(onnx_file)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Intra-op threads that wait sleep rather than spin: a spinning thread holds a core the
        # ingest's parse and write threads (and, on a shared machine, everyone else) need;
        # the same encoder calls used 14.3 CPU s instead of 22.9 (docs/performance.md).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(onnx_file), opts,
                                             providers=["CPUExecutionProvider"])
        self._dimension = int(self._session.get_outputs()[0].shape[-1])

    def _token_embeddings(self, ids, mask, types) -> np.ndarray:
        return self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                        "token_type_ids": types})[0]


if __name__ == "__main__":  # scripts/setup.sh: export the bundled model once, at set-up
    from assistant.settings import bundled_model_path

    print(f"ONNX export of the bundled model: {export_model(bundled_model_path())}")
