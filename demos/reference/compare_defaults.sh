#!/usr/bin/env bash
# The shipped demo against the PyTorch reference, each at its own defaults, alternated A-B-A-B-A, then the
# demo beside one busy program and once more quiet (issue 25; demos/RESULTS.md, "BLAS threads").
#   bash demos/reference/compare_defaults.sh PYTHON_WITH_TORCH [EPOCHS]
# Run it on an otherwise idle machine; it prints each run's epochs and the demo's thread choice, then the
# ratios the README quotes, worked out from those lines:
#   demo / PyTorch   each demo run's median epoch over the PyTorch run(s) beside it (the mean of the two
#                    around it, for the middle one), and the median of the three
#   busy / quiet     the demo's median epoch beside the busy program over each quiet run around it
set -u
torch_python=${1:?usage: compare_defaults.sh PYTHON_WITH_TORCH [EPOCHS]}
epochs=${2:-4}
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
log="$out/log"
demo() {   # one demo run; prints its thread choice, epochs and median, and records "A <median>" (or $2)
  python demos/mnist_vae.py --epochs "$epochs" --iwae-k 0 --out "$out/$1" --overwrite --no-progress 2>&1 |
    grep -E "^threads|^epoch|median epoch" | tee "$out/$1.txt"
  echo "${2:-A} $(sed -n 's/.*median epoch \([0-9.]*\) s.*/\1/p' "$out/$1.txt")" >> "$log"
}
torchref() {   # one PyTorch run; prints its epochs and records "B <median of its epoch_s>"
  "$torch_python" demos/reference/torch_vae.py "$epochs" 2>&1 | grep epoch_s | tee "$out/b.txt"
  echo "B $(python -c 'import re, statistics, sys; print(statistics.median(float(s) for s in re.findall(r"epoch_s ([0-9.]+)", sys.stdin.read())))' < "$out/b.txt")" >> "$log"
}
uptime
echo "== A: the demo at its defaults"; demo a1
echo "== B: PyTorch at its defaults"; torchref
echo "== A"; demo a2
echo "== B"; torchref
echo "== A"; demo a3
echo "== the demo beside one busy program"
python -c "while True: pass" & busy=$!
sleep 1; demo busy BUSY; kill "$busy"
echo "== the demo, quiet again"; demo a4 QUIET
uptime
python - "$log" <<'EOF'
import statistics, sys
runs = [line.split() for line in open(sys.argv[1])]          # ("A" | "B" | "BUSY" | "QUIET", median seconds)
if any(len(r) != 2 for r in runs):
    sys.exit(f"compare_defaults: a run printed no median epoch (see its lines above): {runs}")
(a1, b1, a2, b2, a3, busy, a4) = (float(s) for _, s in runs)
pairs = [a1 / b1, a2 / (0.5 * (b1 + b2)), a3 / b2]
print("demo / PyTorch, pair by pair: " + ", ".join(f"{r:.2f}" for r in pairs) +
      f"; median {statistics.median(pairs):.2f}")
print(f"busy / quiet: {busy / a3:.2f} (against the run before it), {busy / a4:.2f} (against the run after it)")
EOF
rm -rf "$out"
