"""The IDX reader and the shipped MNIST: checksums, known statistics, and errors naming the file."""
import gzip
import shutil

import numpy as np
import pytest

from scratchvae.data import DATA_DIR, DataError, binarize, load_mnist, parse_idx, read_idx


@pytest.fixture(scope="module")
def mnist():
    return load_mnist("train"), load_mnist("test")


def test_shipped_mnist_has_the_known_shapes_counts_and_statistics(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert x_train.dtype == np.float32 and x_train.min() == 0 and x_train.max() == 1
    assert x_train.mean() == pytest.approx(0.1307, abs=5e-5) and x_train.std() == pytest.approx(0.3081, abs=5e-5)
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_parse_idx_by_hand():
    raw = bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3]) + bytes([1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(parse_idx(raw), [[[1, 2, 3]], [[4, 5, 6]]])


def _copy(tmp_path, with_sums=True):
    for f in DATA_DIR.iterdir():
        if with_sums or f.name != "SHA256SUMS":
            shutil.copy(f, tmp_path / f.name)
    return tmp_path


def _rewrite(path, transform):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    with gzip.open(path, "wb") as f:
        f.write(transform(raw))


def test_a_flipped_byte_fails_the_checksum_naming_the_file(tmp_path):
    _copy(tmp_path)
    _rewrite(tmp_path / "t10k-labels-idx1-ubyte.gz", lambda raw: raw[:100] + bytes([raw[100] ^ 1]) + raw[101:])
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: SHA-256 .* corrupt"):
        load_mnist("test", data_dir=tmp_path)


def test_truncated_and_wrong_magic_files(tmp_path):
    _copy(tmp_path, with_sums=False)                 # no checksums: the parser must catch it itself
    _rewrite(tmp_path / "t10k-images-idx3-ubyte.gz", lambda raw: raw[:-10])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz: header says .* truncated"):
        load_mnist("test", data_dir=tmp_path)
    _rewrite(tmp_path / "t10k-labels-idx1-ubyte.gz", lambda raw: b"\x00\x00\x09\x01" + raw[4:])
    with pytest.raises(DataError, match=r"magic number 0x00000901 is not an IDX"):
        read_idx(tmp_path, "t10k-labels-idx1-ubyte")


def test_a_cut_gzip_stream_is_reported(tmp_path):
    _copy(tmp_path)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: cannot be read as gzip"):
        load_mnist("test", data_dir=tmp_path)


def test_missing_files_and_folders(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_mnist("train", data_dir=tmp_path / "nowhere")
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz: file not found"):
        load_mnist("train", data_dir=tmp_path)
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        load_mnist("validation")


def test_binarization_keeps_the_mean():
    x = np.full((1000, 100), 0.3, dtype=np.float32)
    b = binarize(x, np.random.default_rng(0))
    assert set(np.unique(b)) == {0.0, 1.0} and b.dtype == np.float32
    assert b.mean() == pytest.approx(0.3, abs=0.005)
