#!/usr/bin/env bash
# Set up toonset and run the main job on synthetic cartoons it makes itself:
#   synth -> build (+ quality and template-caption annotations) -> inspect.  Output goes to ./demo-out/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
T=.venv/bin/toonset
rm -rf demo-out
$T synth demo-out/videos --count 4 --seed 7
$T build demo-out/videos -o demo-out/dataset --workers 2 --annotate quality,caption
$T inspect demo-out/dataset
