#!/usr/bin/env bash
# Create .venv and install the project with pinned versions; does nothing when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
stamp=".venv/.hrdd-installed"
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Setting up .venv (first run takes several minutes) ..."
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  # torch first: 2.13.0 resolves to the CPU wheel; letting another package pull torch brings a CUDA build.
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[dev]"
  echo "$want" > "$stamp"
  echo "Set-up done."
fi
# The default embedding backend runs the bundled model on ONNX Runtime, exported from its local
# weights into ~/.cache/hrdd/onnx (about 35 s, once; the first use would do it otherwise).
if [ ! -f .venv/.hrdd-onnx ]; then
  HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python -m assistant.library.onnx_export
  touch .venv/.hrdd-onnx
fi
