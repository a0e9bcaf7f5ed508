"""MNIST (and any dataset in the same IDX format), read from the files shipped in the package.

The IDX format (LeCun et al.) is simple enough to parse by hand:

    bytes 0-3   magic number, big-endian uint32: 0x00000803 = uint8 data with 3 dimensions
                (images, N x 28 x 28); 0x00000801 = uint8 data with 1 dimension (labels, N)
    then        one big-endian uint32 per dimension
    then        the data, N * 28 * 28 bytes in C order

The files are gzip-compressed; the decompressed bytes are checked against SHA-256 sums (the
official MNIST checksums, in SHA256SUMS beside the files) so a corrupt or truncated copy is
reported by name instead of training on garbage. Nothing is ever downloaded.

    x_train, y_train = load_mnist("train")        # (60000, 784) float32 in [0, 1], (60000,) uint8
    x_test, y_test = load_mnist("test")           # (10000, 784), (10000,)
    load_mnist("train", data_dir="~/fashion")     # Fashion-MNIST, KMNIST: same file names and format

Binarization, for Bernoulli likelihoods on true binary data (Salakhutdinov & Murray 2008):
    static:   one draw x_bin = [u < x], u ~ U(0, 1), fixed for the whole run
    dynamic:  a fresh draw for every minibatch (the usual setting for log-likelihood results)
"""
import gzip
import hashlib
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from . import backend
from .errors import UserError
from .memory import available_memory

DATA_DIR = Path(__file__).resolve().parent / "data" / "mnist"
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
MAGIC = {2051: 3, 2049: 1}        # magic -> number of dimensions (uint8 data)


class DataError(UserError, ValueError):
    """A dataset file is missing, truncated, corrupt, or not IDX."""


CHUNK = 1 << 20                   # bytes read at a time: memory follows the header, never the file


def _find(data_dir, stem):
    """The path of stem.gz (preferred) or stem in data_dir."""
    for path in (data_dir / (stem + ".gz"), data_dir / stem):
        if path.is_file():
            return path
    raise DataError(f"{data_dir / (stem + '.gz')}: file not found (nor {stem} uncompressed). "
                    f"Expected the four MNIST IDX files {sorted(s for p in FILES.values() for s in p)} "
                    f"in {data_dir}")


def _expected_sums(data_dir):
    """{file stem: sha256} from SHA256SUMS in data_dir, or {} if there is none."""
    sums = data_dir / "SHA256SUMS"
    if not sums.is_file():
        return {}
    table = {}
    for line in sums.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            table[parts[1].lstrip("*")] = parts[0].lower()
    return table


def parse_header(head, name="<bytes>"):
    """(shape, header bytes) from the first bytes of an IDX file; DataError unless the header is usable.

    Checked here, before any data is read: the magic number, the number of items (0 is refused), and
    the size the dimensions claim, multiplied in Python integers (no int64 overflow) and refused
    when it could not be an array (more than 2**62 bytes).
    """
    if len(head) < 8:
        raise DataError(f"{name}: only {len(head)} bytes, too short for an IDX header")
    magic = struct.unpack(">I", head[:4])[0]
    if magic not in MAGIC:
        raise DataError(f"{name}: magic number {magic:#010x} is not an IDX uint8 file "
                        "(expected 0x00000803 for images or 0x00000801 for labels)")
    ndim = MAGIC[magic]
    header = 4 + 4 * ndim
    if len(head) < header:
        raise DataError(f"{name}: only {len(head)} bytes, too short for a {ndim}-D IDX header ({header} bytes)")
    shape = struct.unpack(">" + "I" * ndim, head[4:header])
    if shape[0] == 0:
        raise DataError(f"{name}: the header says the file holds 0 {'images' if ndim == 3 else 'labels'}; "
                        "an empty dataset cannot be trained on")
    size = math.prod(shape)
    if size > 2**62:
        raise DataError(f"{name}: header dimensions {shape} multiply to {size} bytes, more than any array can "
                        "hold: the header is corrupt")
    return shape, header


def parse_idx(raw, name="<bytes>"):
    """IDX bytes -> uint8 array of the shape the header declares. Raises DataError on any mismatch."""
    shape, header = parse_header(raw[:16], name)
    expected = header + math.prod(shape)
    if len(raw) != expected:
        raise DataError(f"{name}: header says shape {shape} ({expected} bytes) but the file has "
                        f"{len(raw)} bytes: {'truncated' if len(raw) < expected else 'trailing data'}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _read_stream(f, path):
    """Read an IDX stream header first, then exactly the bytes it announces (+1 to detect trailing data)."""
    head = f.read(16)                              # the longest header (3-D) is 16 bytes
    shape, header = parse_header(head, str(path))
    expected = header + math.prod(shape)
    memory = available_memory()
    if memory is not None and expected > memory:
        raise DataError(f"{path}: header says shape {shape}, {expected:,} bytes, more than this machine's memory "
                        f"({memory:,} bytes): the header is corrupt or the dataset too large to load")
    parts, have = [head], len(head)
    while have < expected + 1:                     # never more than the header announced, plus one byte
        chunk = f.read(min(CHUNK, expected + 1 - have))
        if not chunk:
            break
        parts.append(chunk)
        have += len(chunk)
    if have != expected:
        raise DataError(f"{path}: header says shape {shape} ({expected} bytes) but the "
                        f"{'decompressed ' if path.suffix == '.gz' else ''}file has "
                        f"{'only ' + str(have) + ' bytes: truncated' if have < expected else 'more: trailing data'}")
    return b"".join(parts)


def read_idx(data_dir, stem, verify=True):
    """Read one IDX file (stem without .gz) from data_dir, checking its SHA-256 if known.

    Memory is bounded by what the header announces: a .gz whose header claims 64 images is read
    for 64 images and one byte more, however much data the archive would decompress to.
    """
    path = _find(Path(data_dir), stem)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = _read_stream(f, path)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise DataError(f"{path}: cannot be read{' as gzip' if path.suffix == '.gz' else ''} "
                        f"({type(err).__name__}: {err}); the file is truncated or corrupt, copy it again") from None
    if verify:
        want = _expected_sums(Path(data_dir)).get(stem)
        got = hashlib.sha256(raw).hexdigest()
        if want is not None and got != want:
            raise DataError(f"{path}: SHA-256 of the decompressed data is {got}, expected {want} "
                            "(from SHA256SUMS): the file is corrupt or a different dataset")
    return parse_idx(raw, str(path))


def load_mnist(split="train", data_dir=None, verify=True):
    """Images as float32 (N, 784) in [0, 1] and labels as uint8 (N,), on the host (NumPy).

    Any MNIST-format set loads (MNIST, Fashion-MNIST, KMNIST), and only one: 28x28 images (every model
    here reads 784 pixels) with the classes 0..9 (the CVAE's one-hot codes and the 10-way probes);
    anything else is a DataError naming the folder, the file and what it holds."""
    if split not in FILES:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    data_dir = Path(os.path.expanduser(str(data_dir))) if data_dir is not None else DATA_DIR
    if not data_dir.is_dir():
        raise DataError(f"data folder {data_dir} does not exist (expected the MNIST IDX files there)")
    images_stem, labels_stem = FILES[split]
    images = read_idx(data_dir, images_stem, verify)
    labels = read_idx(data_dir, labels_stem, verify)
    if images.ndim != 3 or labels.ndim != 1:
        raise DataError(f"{data_dir}: {images_stem} must hold 3-D images and {labels_stem} 1-D labels, "
                        f"got {images.ndim}-D and {labels.ndim}-D")
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"{data_dir}: {images.shape[0]} images but {labels.shape[0]} labels in split {split!r}")
    if images.shape[1:] != (28, 28):             # every model here reads 784 pixels
        raise DataError(f"{data_dir}: {images_stem} holds {images.shape[1]}x{images.shape[2]} images; MNIST-format "
                        f"data must be 28x28 (784 pixels, the models' input size)")
    if int(labels.max()) > 9:                    # one-hot codes and 10-way probes need the digits 0..9
        raise DataError(f"{data_dir}: {labels_stem} holds labels up to {int(labels.max())}; MNIST-format labels "
                        "must be the classes 0..9")
    x = images.reshape(images.shape[0], -1).astype(np.float32)
    x /= np.float32(255.0)                                       # uint8 0..255 -> [0, 1]
    return x, labels


def binarize(x, rng):
    """One Bernoulli draw per pixel: 1 with probability x. x (N, D) in [0, 1], rng a Generator."""
    return (rng.random(x.shape, dtype=x.dtype) < x).astype(x.dtype)


def static_binarize(x, seed=0):
    """The same binarization for the whole run (a fixed seed), on x's backend."""
    return binarize(x, backend.array_module(x).random.default_rng(seed))
