"""`python -m scratchvae.bench`: the benchmark's one entry point (the package's docstring lists what it times)."""
from ..cli import run_main
from . import main

if __name__ == "__main__":
    raise SystemExit(run_main("python -m scratchvae.bench", main))
