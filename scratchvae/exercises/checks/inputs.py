"""The inputs the checks draw: float64 (the finite differences need it), each from a seed of its own.

A check's arrays are the same on every run and every machine, so a verdict can be repeated; each array
has a seed of its own (0 to 25 across the checks and ../vae.py, none used twice).

Used by every check beside this file (__init__.py lists them) and by ../vae.py (exercise 9).
"""
import numpy as np


def randn(seed, *shape, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale          # float64


def uniform(seed, *shape):
    return np.random.default_rng(seed).random(shape)
