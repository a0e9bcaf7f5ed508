"""`python -m scratchvae.gradcheck`: every gradient in scratchvae against finite differences.

The list of checks lives in catalogue.py beside it, which imports the checker (this package's __init__)
and the models; only this file imports the catalogue, so loading the checker never loads the models.
"""
import sys

from ..cli import run_main
from .catalogue import main

if __name__ == "__main__":
    sys.exit(run_main("python -m scratchvae.gradcheck", main))
