"""`python -m scratchvae.gradcheck`: every gradient in scratchvae against finite differences.

The list of checks lives in scratchvae/selfcheck.py, which imports the checker (this package); the
checker itself never imports selfcheck, so the dependency runs one way.
"""
import sys

from ..cli import run_main
from ..selfcheck import main

if __name__ == "__main__":
    sys.exit(run_main("python -m scratchvae.gradcheck", main))
