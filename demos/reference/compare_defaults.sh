#!/usr/bin/env bash
# The shipped demo against the PyTorch reference, each at its own defaults, alternated A-B-A-B-A, then the
# demo beside one busy program and once more quiet (issue 25; demos/RESULTS.md, "BLAS threads").
#   bash demos/reference/compare_defaults.sh PYTHON_WITH_TORCH [EPOCHS]
# Run it on an otherwise idle machine; it prints each run's epochs and the demo's thread choice.
set -u
torch_python=${1:?usage: compare_defaults.sh PYTHON_WITH_TORCH [EPOCHS]}
epochs=${2:-4}
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
demo() { python demos/mnist_vae.py --epochs "$epochs" --iwae-k 0 --out "$out/$1" --overwrite --no-progress 2>&1 |
         grep -E "^threads|^epoch|median epoch"; }
torchref() { "$torch_python" demos/reference/torch_vae.py "$epochs" 2>&1 | grep epoch_s; }
uptime
echo "== A: the demo at its defaults"; demo a1
echo "== B: PyTorch at its defaults"; torchref
echo "== A"; demo a2
echo "== B"; torchref
echo "== A"; demo a3
echo "== the demo beside one busy program"
python -c "while True: pass" & busy=$!
sleep 1; demo busy; kill "$busy"
echo "== the demo, quiet again"; demo a4
uptime
rm -rf "$out"
