"""The training loop and checkpoints: determinism, exact resumption, a clean stop on NaN, atomic
writes, and clear errors for bad arguments."""
import os

import numpy as np
import pytest

from scratchvae import backend, checkpoint
from scratchvae.checkpoint import CheckpointError
from scratchvae.models.autoencoder import AEConfig, Autoencoder
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.nn.optim import Adam
from scratchvae.train import TrainingDiverged, fit

SMALL = VAEConfig(hidden=(32,), latent=3)


def _data(n=300, seed=0):
    return np.random.default_rng(seed).random((n, 784), dtype=np.float32)


def _run(epochs, **kw):
    model = VAE(SMALL)
    opt = Adam(list(model.parameters()))
    history = fit(model, opt, _data(), _data(100, 1), epochs=epochs, batch_size=64, progress=False, log=None, **kw)
    return model, opt, history


def _params(model):
    return {name: backend.to_host(p).copy() for name, p, _ in model.parameters()}


def test_same_seed_gives_identical_losses():
    _, _, a = _run(2, seed=3)
    _, _, b = _run(2, seed=3)
    _, _, c = _run(2, seed=4)
    assert [r["train_loss"] for r in a] == [r["train_loss"] for r in b]
    assert [r["test_loss"] for r in a] == [r["test_loss"] for r in b]
    assert a[-1]["train_loss"] != c[-1]["train_loss"]


def test_history_records(tmp_path):
    _, _, history = _run(2, binarize="dynamic")
    assert [r["epoch"] for r in history] == [1, 2]
    for key in ("train_loss", "train_rec", "train_kl", "test_loss", "test_rec", "test_kl", "seconds"):
        assert all(np.isfinite(r[key]) for r in history), key
    assert history[1]["test_loss"] == pytest.approx(history[1]["test_rec"] + history[1]["test_kl"])


def test_resuming_continues_the_same_run(tmp_path):
    path = tmp_path / "run.npz"
    straight, _, history = _run(3, checkpoint_path=path)
    _run(1, checkpoint_path=tmp_path / "half.npz")
    model, opt, state = checkpoint.load(tmp_path / "half.npz")
    assert state["epoch"] == 1 and opt.t == 5                       # 300 images / 64 = 5 steps per epoch
    resumed = fit(model, opt, _data(), _data(100, 1), epochs=2, batch_size=64, progress=False, log=None,
                  state=state)
    assert [r["epoch"] for r in resumed] == [1, 2, 3]
    assert resumed[-1]["train_loss"] == history[-1]["train_loss"]
    for name, p in _params(straight).items():
        np.testing.assert_array_equal(_params(model)[name], p, err_msg=name)


def test_nan_stops_training_and_keeps_the_last_checkpoint(tmp_path):
    path = tmp_path / "run.npz"
    model, opt, history = _run(1, checkpoint_path=path)
    before = path.read_bytes()
    model.decoder.layers[0].W[0, 0] = np.nan
    message = r"epoch 2, step 1 of 5 .* learning rate .*run.npz \(after epoch 1\) is intact"
    with pytest.raises(TrainingDiverged, match=message):
        fit(model, opt, _data(), epochs=1, batch_size=64, progress=False, log=None, checkpoint_path=path,
            state={"epoch": 1, "step": 5, "history": history})
    assert path.read_bytes() == before


def test_checkpoint_round_trip_for_an_autoencoder(tmp_path):
    model = Autoencoder(AEConfig(hidden=(16,), code=4, noise="mask", noise_level=0.2, l1=0.1))
    opt = Adam(list(model.parameters()), lr=2e-3)
    fit(model, opt, _data(), epochs=1, batch_size=100, progress=False, log=None)
    checkpoint.save(tmp_path / "ae.npz", model, opt, {"epoch": 1})
    loaded, loaded_opt, state = checkpoint.load(tmp_path / "ae.npz")
    assert loaded.config == model.config and loaded_opt.lr == 2e-3 and state == {"epoch": 1}
    x = _data(5, 9)
    np.testing.assert_array_equal(backend.to_host(loaded.reconstruct(x)), backend.to_host(model.reconstruct(x)))
    with np.load(tmp_path / "ae.npz", allow_pickle=False) as archive:
        assert "param/encoder.0.W" in archive.files and "optim/m/encoder.0.W" in archive.files


def test_a_crash_while_saving_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "run.npz"
    model = VAE(SMALL)
    checkpoint.save(path, model)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")
    monkeypatch.setattr(checkpoint.np, "savez", crash)
    with pytest.raises(CheckpointError, match="could not write the checkpoint .*simulated.*previous checkpoint "
                                              "is unchanged"):
        checkpoint.save(path, model)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["run.npz"]                     # no half-written temporary left


def test_loading_into_another_architecture_names_the_array(tmp_path):
    checkpoint.save(tmp_path / "small.npz", VAE(SMALL))
    other = VAE(VAEConfig(hidden=(48,), latent=3))
    before = _params(other)
    with pytest.raises(CheckpointError, match=r"param/encoder.0.W has shape \(784, 32\) but this model's "
                                              r"encoder.0.W has shape \(784, 48\)"):
        checkpoint.load_into(tmp_path / "small.npz", other)
    for name, p in _params(other).items():
        np.testing.assert_array_equal(p, before[name])             # nothing was half-copied
    with pytest.raises(CheckpointError, match="another architecture"):
        checkpoint.load_into(tmp_path / "small.npz", VAE(VAEConfig(hidden=(32, 16), latent=3)))


def test_missing_and_corrupt_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        checkpoint.load(tmp_path / "nope.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip file")
    with pytest.raises(CheckpointError, match="not a readable .npz"):
        checkpoint.load(tmp_path / "bad.npz")


@pytest.mark.parametrize("kwargs,match", [
    ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
    ({"epochs": 0}, "epochs must be an integer >= 1, got 0"),
    ({"binarize": "sometimes"}, "binarize must be one of"),
])
def test_fit_rejects_impossible_arguments(kwargs, match):
    model = VAE(SMALL)
    with pytest.raises(ValueError, match=match):
        fit(model, Adam(list(model.parameters())), _data(), progress=False, log=None, **kwargs)


def test_fit_rejects_labels_empty_data_and_wrong_sizes():
    model = VAE(SMALL)
    opt = Adam(list(model.parameters()))
    labels = np.zeros(300, dtype=np.uint8)
    with pytest.raises(ValueError, match="looks like labels"):
        fit(model, opt, _data(), labels, progress=False, log=None)
    with pytest.raises(ValueError, match="x is empty"):
        fit(model, opt, np.zeros((0, 784), np.float32), progress=False, log=None)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 784\) for this model .* got \(300, 100\)"):
        fit(model, opt, np.zeros((300, 100), np.float32), progress=False, log=None)
    bad = _data()
    bad[7, 3] = np.nan
    with pytest.raises(ValueError, match=r"x must be finite, found 1 NaN/inf value\(s\), first at index \(7, 3\)"):
        fit(model, opt, bad, progress=False, log=None)


def test_warmup_objective_is_below_the_neg_elbo_it_ramps_to():
    model = VAE(VAEConfig(hidden=(32,), latent=3, warmup_steps=100))
    history = fit(model, Adam(list(model.parameters())), _data(), epochs=1, batch_size=64, progress=False, log=None)
    r = history[0]
    assert r["train_neg_elbo"] == pytest.approx(r["train_rec"] + r["train_kl"])
    # steps 1..5 of 100 weigh the KL by 0.01..0.05, so the objective sits just above the reconstruction
    assert r["train_rec"] < r["train_loss"] < r["train_rec"] + 0.06 * r["train_kl"] < r["train_neg_elbo"]


def test_resuming_a_dynamically_binarized_run_with_another_seed(tmp_path):
    kw = dict(seed=7, binarize="dynamic")
    straight, _, history = _run(2, **kw)
    _run(1, checkpoint_path=tmp_path / "half.npz", **kw)
    model, opt, state = checkpoint.load(tmp_path / "half.npz")
    resumed = fit(model, opt, _data(), _data(100, 1), epochs=1, batch_size=64, progress=False, log=None,
                  state=state, **kw)
    assert resumed[-1]["train_loss"] == history[-1]["train_loss"]
    assert resumed[-1]["test_loss"] == history[-1]["test_loss"]
    with pytest.raises(ValueError, match="resuming a run that used seed=7, but this call has seed=8"):
        fit(model, opt, _data(), epochs=1, batch_size=64, progress=False, log=None, state=state, seed=8,
            binarize="dynamic")
    with pytest.raises(ValueError, match="n_train=300, but this call has n_train=200"):
        fit(model, opt, _data(200), epochs=1, batch_size=64, progress=False, log=None, state=state, **kw)


class _NaNFrom:
    """A model whose loss turns NaN from global step `at` on (the parameters stay finite)."""

    def __init__(self, model, at):
        self.model, self.at = model, at

    def __getattr__(self, name):
        return getattr(self.model, name)

    def objective(self, x, rng, backward=True, step=None):
        parts = self.model.objective(x, rng, backward=backward, step=step)
        if step >= self.at:
            parts["loss"] = parts["loss"] * float("nan")
        return parts


@pytest.mark.parametrize("check_every", [1, 2, 50])
def test_divergence_names_its_step_however_rarely_the_loss_is_read(xp, monkeypatch, check_every):
    monkeypatch.setattr("scratchvae.train.CHECK_EVERY", check_every)
    model = VAE(SMALL)
    with pytest.raises(TrainingDiverged, match=r"epoch 1, step 3 of 5 \(global step 3\): the loss is nan"):
        fit(_NaNFrom(model, 3), Adam(list(model.parameters())), xp.asarray(_data()), epochs=1, batch_size=64,
            progress=False, log=None)


def test_fit_and_resume_on_each_backend(xp, tmp_path):
    """The whole loop (shuffling without permutation() on CuPy, dynamic binarization, evaluation,
    checkpoints) on the backend, and a resumed run that matches the straight one."""
    x, x_test = xp.asarray(_data()), xp.asarray(_data(100, 1))
    kw = dict(batch_size=64, progress=False, log=None, binarize="dynamic", seed=5)
    model = VAE(SMALL)
    history = fit(model, Adam(list(model.parameters())), x, x_test, epochs=2, **kw)
    half = VAE(SMALL)
    fit(half, Adam(list(half.parameters())), x, x_test, epochs=1, checkpoint_path=tmp_path / "h.npz", **kw)
    resumed_model, opt, state = checkpoint.load(tmp_path / "h.npz")
    resumed = fit(resumed_model, opt, x, x_test, epochs=1, state=state, **kw)
    assert resumed[-1]["train_loss"] == history[-1]["train_loss"] and history[-1]["test_loss"] < 560
    np.testing.assert_array_equal(backend.to_host(resumed_model.flat_params), backend.to_host(model.flat_params))
