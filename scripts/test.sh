#!/usr/bin/env bash
# Set up toonset with its test extras and run lint + the whole test suite.
# Integration tests use ../shared/realdata when it exists and skip (with a reason) when it does not.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev,torch,transnet,bench,ray,ocr,onnx,text
.venv/bin/ruff check src tests benchmarks
.venv/bin/python -m pytest "$@"
