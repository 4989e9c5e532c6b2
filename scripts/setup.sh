#!/usr/bin/env bash
# Create .venv (Python >= 3.11) and install patentmatch with its pinned dependencies.
# torch is installed first as the CPU build: a plain resolve would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
if ! python -c "import torch" 2>/dev/null; then
    # A local CPU wheel (find-links) or the PyTorch CPU index; PyPI's default is the CUDA build.
    python -m pip install --quiet "torch==2.13.0" \
        || python -m pip install --quiet "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
fi
python -m pip install --quiet -e ".[dev]"
echo "patentmatch installed in .venv"
