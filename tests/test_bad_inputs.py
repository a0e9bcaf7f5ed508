"""Bad inputs to the library end in an error that names the file, the field or the argument, and lose
nothing: IDX headers checked before the data is read, checkpoint schemas, failed and killed writes,
divergence messages, and library arguments (NumPy scalars accepted, 0-row batches named)."""
import gzip
import json
import os
import struct
import subprocess
import sys
import warnings

import numpy as np
import pytest

from scratchvae import checkpoint, data, train
from scratchvae.checkpoint import CheckpointError
from scratchvae.data import DataError
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.nn.activations import LeakyReLU
from scratchvae.nn.dense import Dense
from scratchvae.nn.kl import gaussian_kl
from scratchvae.nn.losses import bce_with_logits, gaussian_nll, l1_penalty, mse
from scratchvae.nn.optim import Adam
from scratchvae.nn.reparam import reparameterize, reparameterize_backward
from scratchvae.train import TrainingDiverged, fit

SMALL = VAEConfig(hidden=(8,), latent=2)


def _x(n=40, seed=0):
    return np.random.default_rng(seed).random((n, 784), dtype=np.float32)


# ---- IDX files ----------------------------------------------------------------------------------------

def _idx_gz(path, dims, payload):
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(struct.pack(">I", 0x803) + struct.pack(">III", *dims) + payload)


def test_a_gz_is_read_only_as_far_as_its_header_says(tmp_path, monkeypatch):
    path = tmp_path / "x-images-idx3-ubyte.gz"
    _idx_gz(path, (64, 28, 28), bytes(64 * 784 + 16 * 2**20))        # 16 MiB more than the header claims
    served = []
    real_open = gzip.open

    class Counting:
        def __init__(self, f):
            self.f = f

        def read(self, n=-1):
            chunk = self.f.read(n)
            served.append(len(chunk))
            return chunk

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(data.gzip, "open", lambda *a, **k: Counting(real_open(*a, **k)))
    with pytest.raises(DataError, match=r"header says shape \(64, 28, 28\) .* more: trailing data"):
        data.read_idx(tmp_path, "x-images-idx3-ubyte")
    assert sum(served) == 16 + 64 * 784 + 1                            # the header's bytes and one more


def test_idx_headers_that_cannot_be_datasets(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "available_memory", lambda: 10**6)
    _idx_gz(tmp_path / "huge-images-idx3-ubyte.gz", (2000, 28, 28), b"")           # 1.6 MB on a "1 MB machine"
    with pytest.raises(DataError, match=r"shape \(2000, 28, 28\), 1,568,016 bytes, more than this machine's memory"):
        data.read_idx(tmp_path, "huge-images-idx3-ubyte")
    _idx_gz(tmp_path / "big-images-idx3-ubyte.gz", (2**32 - 1, 2**32 - 1, 2**32 - 1), b"")
    with pytest.raises(DataError, match=r"dimensions \(4294967295, 4294967295, 4294967295\) multiply to .* corrupt"):
        data.read_idx(tmp_path, "big-images-idx3-ubyte")
    _idx_gz(tmp_path / "empty-images-idx3-ubyte.gz", (0, 28, 28), b"")
    with pytest.raises(DataError, match="empty-images-idx3-ubyte.gz: the header says the file holds 0 images"):
        data.read_idx(tmp_path, "empty-images-idx3-ubyte")


# ---- checkpoints --------------------------------------------------------------------------------------

def _saved(tmp_path):
    model = VAE(SMALL)
    path = checkpoint.save(tmp_path / "checkpoint.npz", model, Adam(list(model.parameters())), {"epoch": 1})
    with np.load(path) as archive:
        arrays = {k: archive[k] for k in archive.files}
    return path, arrays, json.loads(str(arrays["meta"]))


@pytest.mark.parametrize("change,message", [
    (lambda m: [m], r"field 'meta' must be a JSON object, got a list"),
    (lambda m: {k: v for k, v in m.items() if k != "model"}, r"meta lacks the field 'model'"),
    (lambda m: {**m, "colour": "blue"}, r"unknown field\(s\) \['colour'\] in meta"),
    (lambda m: {**m, "dtype": "float16"}, r"field 'dtype' is 'float16', expected one of"),
    (lambda m: {**m, "optimizer": {**m["optimizer"], "class": "RMSprop"}}, r"field 'optimizer.class' is 'RMSprop'"),
    (lambda m: {**m, "optimizer": {**m["optimizer"], "lr": -1}}, r"field 'optimizer' does not describe an Adam"),
    (lambda m: {**m, "model": {**m["model"], "width": 3}}, r"field 'model' does not describe a VAE .*width"),
    (lambda m: {**m, "model": {**m["model"], "kind": "gan"}}, r"field 'model' must be an object whose 'kind' is"),
])
def test_checkpoint_schema_errors_name_the_file_and_the_field(tmp_path, change, message):
    path, arrays, meta = _saved(tmp_path)
    np.savez(path, **{**arrays, "meta": np.array(json.dumps(change(meta)))})
    with pytest.raises(CheckpointError, match=rf"checkpoint.npz: {message}"):
        checkpoint.load(path)


def test_checkpoints_that_are_not_checkpoints(tmp_path):
    path, arrays, _ = _saved(tmp_path)
    np.savez(path, **{**arrays, "meta": np.array("{not json")})
    with pytest.raises(CheckpointError, match=r"checkpoint.npz: field 'meta' is not valid JSON"):
        checkpoint.load(path)
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))                                        # a .npy under the .npz name
    with pytest.raises(CheckpointError, match=r"checkpoint.npz: not a readable .npz checkpoint .*np.save"):
        checkpoint.load(path)


def test_a_killed_writes_temporary_file_is_removed_by_the_next_save_and_load(tmp_path):
    path, _, _ = _saved(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".checkpoint.npz.{int(dead.stdout)}.tmp"       # a pid that has exited
    stale.write_bytes(b"PK half an archive")
    checkpoint.load(path)
    assert not stale.exists()
    stale.write_bytes(b"PK half an archive")
    checkpoint.save(path, VAE(SMALL))
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.npz"]


def test_a_file_size_limit_while_saving_is_one_error_and_keeps_the_old_checkpoint(tmp_path):
    path, _, _ = _saved(tmp_path)
    before = path.read_bytes()
    script = ("import resource, sys; from scratchvae import checkpoint; from scratchvae.models.vae import VAE, "
              "VAEConfig; resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))\n"
              "try: checkpoint.save(sys.argv[1], VAE(VAEConfig(hidden=(8,), latent=2)))\n"
              "except checkpoint.CheckpointError as e: print(e)")
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60)
    assert "could not write the checkpoint (File too large); the previous checkpoint is unchanged" in done.stdout, \
        done.stderr
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["checkpoint.npz"]


# ---- divergence ---------------------------------------------------------------------------------------

def test_a_nan_in_the_evaluation_names_the_epoch_and_the_evaluation(tmp_path, monkeypatch):
    model = VAE(SMALL)
    opt = Adam(list(model.parameters()))
    ckpt = tmp_path / "c.npz"
    fit(model, opt, _x(), _x(10, 1), epochs=1, batch_size=20, checkpoint_path=ckpt, progress=False, log=None)
    monkeypatch.setattr(train, "evaluate", lambda *a, **k: {"loss": float("nan"), "neg_elbo": float("nan")})
    with pytest.raises(TrainingDiverged, match=r"at epoch 2: every training step was finite, but the end-of-epoch "
                                               r"evaluation on the test set gave loss = nan.*c.npz \(after epoch 1\) "
                                               r"is intact"):
        fit(model, opt, _x(), _x(10, 1), epochs=1, batch_size=20, checkpoint_path=ckpt, progress=False, log=None,
            state=checkpoint.load(ckpt)[2])


def test_a_fresh_run_that_diverges_says_no_checkpoint_was_written_and_warns_nothing(tmp_path):
    model = VAE(SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                 # a RuntimeWarning would fail the test
        with pytest.raises(TrainingDiverged, match=r"diverged at epoch 1, step .*no checkpoint was written"):
            fit(model, Adam(list(model.parameters()), lr=1e6), _x(), epochs=1, batch_size=10,
                checkpoint_path=tmp_path / "c.npz", progress=False, log=None)
    assert not (tmp_path / "c.npz").exists()


def test_no_progress_bar_without_a_terminal(monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert train._progress(10, "epoch 1", True) is None
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    bar = train._progress(10, "epoch 1", True)
    assert bar is not None
    bar.close()


# ---- library arguments --------------------------------------------------------------------------------

def test_arguments_are_named():
    with pytest.raises(TypeError, match="Dense: dtype must be float32 or float64, got int32"):
        Dense(3, 2, dtype=np.int32)
    with pytest.raises(TypeError, match="LeakyReLU: alpha must be a real number, got str 'a'"):
        LeakyReLU(alpha="a")
    with pytest.raises(TypeError, match="reparameterize_backward: cache must be the \\(std, eps\\) pair"):
        reparameterize_backward(np.zeros((2, 3)), None)
    with pytest.raises(ValueError, match="gaussian_nll: sigma must be a finite number, got inf"):
        gaussian_nll(np.zeros((2, 3)), np.zeros((2, 3)), sigma=float("inf"))
    layer = Dense(3, 2, dtype=np.float32)
    layer.forward(np.ones((4, 3), np.float32))
    with pytest.raises(TypeError, match="Dense.backward: dy has dtype float64 but the layer's weights are float32"):
        layer.backward(np.ones((4, 2)))
    model = VAE(SMALL)
    with pytest.raises(ValueError, match="fit: seed must be an integer >= 0"):
        fit(model, Adam(list(model.parameters())), _x(), seed=-1, progress=False, log=None)


@pytest.mark.parametrize("call", [
    lambda e: mse(e, e), lambda e: bce_with_logits(e, e), lambda e: gaussian_kl(e, e), lambda e: l1_penalty(e, 1.0),
])
def test_a_batch_of_zero_rows_is_named_as_such(call):
    with pytest.raises(ValueError, match=r"has 0 rows \(shape \(0, 3\)\); a batch needs at least one example"):
        call(np.zeros((0, 3)))


def test_numpy_scalars_are_numbers():
    x_hat, x = np.full((2, 3), 0.5), np.zeros((2, 3))
    # -log N(x; x_hat, s^2 I) per image = sum (x_hat - x)^2 / (2 s^2) + D log(s sqrt(2 pi)), D = 3
    want = 3 * 0.25 / (2 * 0.25) + 3 * np.log(0.5 * np.sqrt(2 * np.pi))
    assert float(gaussian_nll(x_hat, x, sigma=np.float32(0.5))[0]) == pytest.approx(want, rel=1e-12)
    assert float(l1_penalty(np.full((2, 3), -2.0), np.float64(0.5))[0]) == pytest.approx(3.0)     # 0.5 * 6 per row
    assert LeakyReLU(np.float32(0.25)).forward(np.array([[-4.0]]))[0, 0] == pytest.approx(-1.0)
    z, cache = reparameterize(np.zeros((1, 2)), np.zeros((1, 2)), np.ones((1, 2)))
    assert reparameterize_backward(np.ones((1, 2)), cache)[1].tolist() == [[0.5, 0.5]]
    config = VAEConfig(hidden=np.int64(8), latent=np.int64(2), beta=np.float32(2), warmup_steps=np.int64(3))
    assert json.dumps(VAE(config).config_dict())                      # a checkpoint's meta stays JSON
    with pytest.raises(ValueError, match="VAEConfig: beta must be a finite number, got inf"):
        VAEConfig(beta=float("inf"))
    with pytest.raises(ValueError, match="VAEConfig: seed must be an integer >= 0"):
        VAEConfig(seed=-1)


# ---- the newer library API (issue 17): each bad argument is named, with what was expected and what came --

def test_the_newer_api_names_its_bad_arguments():
    from scratchvae import diagnostics
    from scratchvae.models.probe import LinearProbe
    from scratchvae.nn.gaussian import gaussian_log_density, gaussian_log_density_backward
    from scratchvae.schedule import paper_schedule, stage_at

    w = np.zeros((2, 3), np.int64)
    with pytest.raises(TypeError, match=r"^Adam: parameter w must be a float32 or float64 array .* got int64"):
        Adam([("w", w, w.copy())])
    probe, h = LinearProbe(3), np.ones((10, 3), np.float32)
    with pytest.raises(ValueError, match=r"^LinearProbe.fit: h has 0 rows \(shape \(0, 3\)\)"):
        probe.fit(h[:0], np.zeros(0, np.int64))
    with pytest.raises(ValueError, match=r"^LinearProbe: l2 must be a finite number, got inf"):
        LinearProbe(3, l2=float("inf"))
    with pytest.raises(ValueError, match=r"^LinearProbe.accuracy: labels must have shape \(10,\), .* got \(9,\)"):
        probe.accuracy(h, np.zeros(9, np.int64))
    with pytest.raises(ValueError, match=r"^LinearProbe.accuracy: h has 0 rows"):
        probe.accuracy(h[:0], np.zeros(0, np.int64))
    with pytest.raises(ValueError, match=r"^kl_per_dim: mu has 0 rows \(shape \(0, 3\)\)"):
        diagnostics.kl_per_dim(np.zeros((0, 3)), np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"^encode_all: x has 0 rows \(shape \(0, 784\)\)"):
        diagnostics.encode_all(VAE(SMALL), np.zeros((0, 784), np.float32))
    with pytest.raises(ValueError, match=r"^activity: mu must be finite, found 1 NaN/inf value\(s\), first at index "
                                         r"\(0, 0\)"):
        diagnostics.active_units(np.array([[np.nan, 1.0], [0.0, 2.0]]))     # NaN > 0.01 would read as inactive
    with pytest.raises(TypeError, match=r"^gaussian_log_density: z must be a NumPy/CuPy array, got list"):
        gaussian_log_density([[0.0]], [[0.0]], [[0.0]])
    with pytest.raises(TypeError, match=r"^gaussian_log_density_backward: cache must be the \(diff, r\) pair .* "
                                        r"got NoneType"):
        gaussian_log_density_backward(np.zeros(2), None)
    for bad in (-1, float("nan"), 1.5):
        with pytest.raises(ValueError, match=rf"^stage_at: epochs_done must be an integer >= 0, got {bad!r}"):
            stage_at(paper_schedule(2), bad)


def test_the_objectives_promise_about_non_finite_input():
    """What the docstrings promise: objective scans no values (a NaN x gives a NaN loss, returned as is);
    fit scans the data where it enters and names the row and column."""
    from scratchvae.models.deep import DeepVAE, paper_config

    x = _x(4)
    x[1, 5] = np.nan
    for model in (VAE(SMALL), DeepVAE(paper_config(1, "vae", 1))):
        assert np.isnan(float(model.objective(x, rng=np.random.default_rng(0), backward=False)["loss"]))
        with pytest.raises(ValueError, match=r"fit \(x_train\): x must be finite, found 1 NaN/inf value\(s\), first "
                                             r"at index \(1, 5\)"):
            fit(model, Adam(list(model.parameters())), x, epochs=1, batch_size=2, progress=False, log=None)


# ---- issue 25: the library's last raw errors, each now named --------------------------------------------

def test_framing_refuses_what_it_cannot_frame():
    from scratchvae.explore.framing import frame_like_mnist
    drawing = np.zeros(784)
    drawing[300:310] = 1.0
    with_nan = drawing.copy()
    with_nan[305] = np.nan                                       # was dropped silently with its whole row
    with pytest.raises(ValueError, match=r"^frame_like_mnist: image must be finite, found 1 NaN/inf pixel\(s\), "
                                         r"first at index 305"):
        frame_like_mnist(with_nan)
    with pytest.raises(ValueError, match=r"^frame_like_mnist: side must be a whole number of pixels >= 20 .* got 10"):
        frame_like_mnist(drawing, side=10)                       # was numpy's broadcast error
    with pytest.raises(ValueError, match=r"^frame_like_mnist: image must hold side \* side = 900 pixels, got 784"):
        frame_like_mnist(drawing, side=30)
    assert frame_like_mnist(drawing.tolist()).shape == (784,)   # a list is still an image


def test_the_deep_objective_names_bad_noise_and_a_bad_rng():
    from scratchvae.models.deep import DeepVAE, paper_config
    x = _x(3)
    for fast in (True, False):
        model = DeepVAE(paper_config(1, "vae", 2), fast=fast)
        good = np.zeros((6, 50), np.float32)
        with pytest.raises(TypeError, match=r"^DeepVAE: eps\[0\] has dtype int64; the model computes in float32"):
            model.objective(x, eps=[good.astype(np.int64)])
        with pytest.raises(TypeError, match=r"^DeepVAE: eps\[0\] must be an array \(a list of 1 float32 array\(s\) "
                                            r"of shape\(s\) \[\(6, 50\)\]\), got list"):
            model.objective(x, eps=[good.tolist()])
        with pytest.raises(TypeError, match=r"^DeepVAE: eps must be a list of 1 float32 .* got ndarray"):
            model.objective(x, eps=good)
        with pytest.raises(ValueError, match=r"got shapes \[\(5, 50\)\]"):
            model.objective(x, eps=[good[:5]])
        with pytest.raises(TypeError, match=r"^DeepVAE: rng must be a random Generator \(backend.rng\(seed\), .* "
                                            r"got int 0"):
            model.objective(x, rng=0)
        assert np.isfinite(float(model.objective(x, eps=[good])["loss"]))
    with pytest.raises(TypeError, match=r"^sample_eps: rng must be a random Generator .* got int 0"):
        VAE(SMALL).objective(_x(3), rng=0)


def test_gaussian_log_density_names_a_nested_list_in_any_argument():
    from scratchvae.nn.gaussian import gaussian_log_density
    z = np.zeros((2, 3))
    with pytest.raises(TypeError, match=r"^gaussian_log_density: mu must be a NumPy/CuPy array, got list"):
        gaussian_log_density(z, z.tolist(), z)                  # was AttributeError: 'list' has no 'shape'
    with pytest.raises(TypeError, match=r"^gaussian_log_density: logvar must be a NumPy/CuPy array, got list"):
        gaussian_log_density(z, z, [[[0.0] * 3] * 2])
