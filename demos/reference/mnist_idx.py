"""Reads the MNIST IDX files that ship inside the package (scratchvae/data/mnist), for the PyTorch references.

A copy of nothing: about twenty lines, so that the references need only torch and NumPy (not scratchvae,
whose reader, scratchvae/data.py, also checks the files' SHA-256 sums). Same pixels: uint8 / 255, float32.
"""
import gzip
import os
import struct

import numpy as np

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scratchvae", "data", "mnist")


def read_idx(path):
    """The array in one gzipped IDX file: magic (uint8 data, ndim), one uint32 per dimension, the bytes."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = struct.unpack(">I", raw[:4])[0] & 0xFF
    shape = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load(split="train"):
    """(images (N, 784) float32 in [0, 1], labels (N,) int64) of "train" or "test"."""
    pre = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(DATA, f"{pre}-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255.0
    y = read_idx(os.path.join(DATA, f"{pre}-labels-idx1-ubyte.gz")).astype(np.int64)
    return x, y
