#!/usr/bin/env bash
# Create ./.venv and install toonset into it (editable), with optional extras.
#   bash scripts/setup.sh                # core only (no torch)
#   bash scripts/setup.sh dev,transnet   # extras; torch==2.13.0 is installed first when an extra needs it
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --disable-pip-version-check -q)
# torch comes from a CPU wheel pinned to 2.13.0; it must be in place before anything that depends on it,
# or pip resolves a multi-GB CUDA build.
if [[ ",$extras," =~ ,(torch|transnet|text|all), ]]; then
  if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
    "${PIP[@]}" "torch==2.13.0"
  fi
fi
if [ -n "$extras" ]; then
  "${PIP[@]}" -e ".[${extras}]"
else
  "${PIP[@]}" -e .
fi
