"""Collapse diagnostics, the rank AUROC, softmax cross-entropy, the linear probe and the conditional VAE.

Their gradients are checked in test_gradcheck.py (gradcheck/catalogue.py lists the CVAE and the probe); here each
is checked against an independent fact: a closed-form value, a brute-force count, a toy problem.
"""
import math

import numpy as np
import pytest

from scratchvae import backend, checkpoint, diagnostics
from scratchvae.auroc import auroc, auroc_standard_error, midranks, placements
from scratchvae.models.cvae import CVAE, CVAEConfig, one_hot, pack
from scratchvae.models.iwae import _log_mean_exp
from scratchvae.models.probe import LinearProbe
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.nn.kl import gaussian_kl
from scratchvae.nn.softmax import log_softmax, logsumexp, softmax_cross_entropy
from scratchvae.train import evaluate

# ---- KL per dimension and active units ----------------------------------------------------

def test_kl_per_dim_matches_the_closed_form_by_hand():
    # dim 0: mu = +-2, sigma = 0.5: KL = 1/2 (4 + 0.25 - 1 - log 0.25) for both rows; dim 1 is the prior
    mu = np.array([[2.0, 0.0], [-2.0, 0.0]])
    logvar = np.array([[math.log(0.25), 0.0], [math.log(0.25), 0.0]])
    expected = 0.5 * (4 + 0.25 - 1 - math.log(0.25))
    np.testing.assert_allclose(diagnostics.kl_per_dim(mu, logvar), [expected, 0.0], rtol=1e-12, atol=1e-15)


def test_kl_per_dim_sums_to_the_kl_term():
    rng = np.random.default_rng(0)
    mu, logvar = rng.standard_normal((50, 7)), rng.standard_normal((50, 7))
    per_dim = diagnostics.kl_per_dim(mu, logvar)
    assert per_dim.shape == (7,) and (per_dim >= 0).all()
    assert per_dim.sum() == pytest.approx(float(gaussian_kl(mu, logvar)[0]), rel=1e-12)


def test_active_units_counts_variances_above_the_threshold():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((4000, 3))
    z -= z.mean(0)
    z /= z.std(0)                                       # unit variance exactly, then scaled per column
    mu = z * np.sqrt([1.0, 0.005, 0.02])                # Var = 1, 0.005, 0.02
    np.testing.assert_allclose(diagnostics.activity(mu), [1.0, 0.005, 0.02], rtol=1e-10)
    assert diagnostics.active_units(mu) == 2            # 0.005 is below Burda et al.'s 0.01
    assert diagnostics.active_units(mu, threshold=0.001) == 3
    with pytest.raises(ValueError, match="threshold"):
        diagnostics.active_units(mu, threshold=-1)
    with pytest.raises(ValueError, match="at least 2 rows"):
        diagnostics.activity(mu[:1])


def test_collapse_metrics_agree_with_the_test_kl_of_evaluate():
    x = np.random.default_rng(2).random((64, 12)).astype(np.float32)
    model = VAE(VAEConfig(n_in=12, hidden=(8,), latent=4))
    found = diagnostics.collapse_metrics(model, x, batch_size=20)
    assert len(found["test_kl_per_dim"]) == 4 and isinstance(found["active_units"], int)
    assert sum(found["test_kl_per_dim"]) == pytest.approx(evaluate(model, x)["kl"], rel=1e-5)
    with pytest.raises(TypeError, match="needs a VAE"):
        diagnostics.encode_all(object(), x)


# ---- AUROC by ranks -------------------------------------------------------------------------

def brute_force_auroc(scores, positive):
    pos, neg = scores[positive], scores[~positive]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return wins / (len(pos) * len(neg))


def test_aggregate_posterior_kl_is_zero_when_every_posterior_is_the_prior():
    mu, logvar = np.zeros((50, 3)), np.zeros((50, 3))                   # q(z|x) = N(0, I) = p(z) for every x
    out = diagnostics.aggregate_posterior_kl(mu, logvar, np.random.default_rng(0))
    assert out["rate"] == 0.0
    assert abs(out["marginal_kl"]) < 1e-12 and abs(out["mutual_information"]) < 1e-12


def test_aggregate_posterior_kl_matches_a_gaussian_closed_form():
    # x ~ N(0, 1), q(z|x) = N(k x, s^2): q(z) = N(0, k^2 + s^2), I = 1/2 log((k^2 + s^2) / s^2),
    # KL(q(z) || N(0, 1)) = 1/2 (k^2 + s^2 - 1 - log(k^2 + s^2)); N = 3000 rows, log N = 8 >> I
    k, s = 2.0, 0.5
    x = np.random.default_rng(1).standard_normal((3000, 1))
    out = diagnostics.aggregate_posterior_kl(k * x, np.full_like(x, math.log(s * s)), np.random.default_rng(2))
    v = k * k + s * s
    assert out["mutual_information"] == pytest.approx(0.5 * math.log(v / (s * s)), abs=0.06)       # 1.417
    assert out["marginal_kl"] == pytest.approx(0.5 * (v - 1 - math.log(v)), abs=0.06)              # 0.901
    assert out["mutual_information"] + out["marginal_kl"] == pytest.approx(out["rate"], abs=0.1)


def test_mutual_information_of_n_separated_posteriors_is_log_n():
    mu = 100.0 * np.arange(40, dtype=np.float64)[:, None]              # 40 posteriors far apart, sd 0.01
    out = diagnostics.aggregate_posterior_kl(mu, np.full_like(mu, math.log(1e-4)), np.random.default_rng(0), chunk=7)
    assert out["mutual_information"] == pytest.approx(math.log(40), abs=1e-9)
    assert out["log_n"] == pytest.approx(math.log(40))


def test_midranks_share_tied_ranks():
    np.testing.assert_array_equal(midranks([3.0, 1.0, 3.0, 2.0, 3.0]), [4.0, 1.0, 4.0, 2.0, 4.0])


@pytest.mark.parametrize("seed", range(5))
def test_auroc_equals_the_pair_count_with_ties(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, size=80).astype(float)          # few values: many ties
    positive = rng.random(80) < 0.3
    positive[:2] = [True, False]
    assert auroc(scores, positive) == pytest.approx(brute_force_auroc(scores, positive), abs=1e-12)


def test_auroc_extremes_and_errors():
    labels = np.array([False, False, True, True])
    assert auroc(np.array([1.0, 2.0, 3.0, 4.0]), labels) == 1.0
    assert auroc(np.array([4.0, 3.0, 2.0, 1.0]), labels) == 0.0
    assert auroc(np.ones(4), labels) == 0.5
    with pytest.raises(ValueError, match="at least one positive"):
        auroc(np.arange(3.0), np.zeros(3, bool))
    with pytest.raises(TypeError, match="boolean"):
        auroc(np.arange(3.0), np.array([0, 1, 1]))


@pytest.mark.parametrize("seed", range(3))
def test_placements_are_the_pair_counts_of_each_example(seed):
    """DeLong's V_i and W_j from ranks against the double sum they stand for, with ties."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 5, size=60).astype(float)
    positive = rng.random(60) < 0.4
    positive[:2] = [True, False]
    pos, neg = scores[positive], scores[~positive]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])      # (P, N)
    V, W = placements(scores, positive)
    np.testing.assert_allclose(V, psi.mean(axis=1), atol=1e-12)
    np.testing.assert_allclose(W, psi.mean(axis=0), atol=1e-12)
    assert V.mean() == pytest.approx(auroc(scores, positive), abs=1e-12)


def test_auroc_standard_error_matches_the_spread_over_fresh_test_sets():
    """The SE is the standard deviation of the AUROC over repeated test sets: 2000 of them, binormal
    scores (positives shifted by 1, AUROC about 0.76), 40 positives and 160 negatives."""
    rng = np.random.default_rng(0)
    positive = np.arange(200) < 40
    found, se = [], []
    for _ in range(2000):
        scores = rng.standard_normal(200) + positive
        found.append(auroc(scores, positive))
        se.append(auroc_standard_error(scores, positive))
    spread = np.std(found, ddof=1)                         # about 0.041; its own sampling error is about 1.6 %
    assert np.mean(se) == pytest.approx(spread, rel=0.06)
    assert np.mean(found) == pytest.approx(0.760, abs=0.004)   # Phi(1 / sqrt(2)), the binormal AUROC
    with pytest.raises(ValueError, match="at least two positives"):
        auroc_standard_error(np.arange(4.0), np.array([True, False, False, False]))


# ---- softmax cross-entropy and the linear probe -----------------------------------------------

def test_cross_entropy_of_equal_logits_is_log_k_and_gradient_rows_sum_to_zero():
    loss, d = softmax_cross_entropy(np.zeros((4, 5)), np.array([0, 1, 2, 4]))
    assert float(loss) == pytest.approx(math.log(5), rel=1e-14)
    logits = np.random.default_rng(3).standard_normal((6, 4)) * 3
    labels = np.array([0, 3, 1, 1, 2, 0])
    loss, d = softmax_cross_entropy(logits, labels)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)                     # the textbook formula
    assert float(loss) == pytest.approx(-np.log(p[np.arange(6), labels]).mean(), rel=1e-12)
    np.testing.assert_allclose(d.sum(1), 0, atol=1e-15)
    assert np.isfinite(log_softmax(np.array([[1e4, -1e4, 0.0]]))).all()         # no overflow


def test_logsumexp_matches_the_textbook_sum_and_survives_extreme_logs():
    a = np.random.default_rng(4).standard_normal((3, 7)) * 4                      # (3, 7)
    np.testing.assert_allclose(logsumexp(a, axis=1), np.log(np.exp(a).sum(1)), rtol=1e-13)
    np.testing.assert_allclose(logsumexp(a, axis=0), np.log(np.exp(a).sum(0)), rtol=1e-13)
    assert logsumexp(a, axis=1, keepdims=True).shape == (3, 1)
    # shifted by -1000 (exp underflows to 0) or +1000 (exp overflows): the same sum, shifted
    np.testing.assert_allclose(logsumexp(a - 1000, axis=1), logsumexp(a, axis=1) - 1000, rtol=1e-14)
    np.testing.assert_allclose(logsumexp(a + 1000, axis=1), logsumexp(a, axis=1) + 1000, rtol=1e-14)
    row = np.array([[-np.inf, -np.inf], [-np.inf, 0.0]])                          # sums of 0 and of 1
    np.testing.assert_array_equal(logsumexp(row, axis=1), [-np.inf, 0.0])


def test_logsumexp_of_an_empty_slice_is_minus_infinity():
    """An empty sum is 0 and log 0 = -inf (torch.logsumexp agrees); NumPy's max alone would raise."""
    for dtype in (np.float32, np.float64):
        out = logsumexp(np.zeros((3, 0), dtype=dtype), axis=1)
        assert out.shape == (3,) and out.dtype == dtype and np.all(out == -np.inf)
    assert logsumexp(np.zeros((0, 4)), axis=0, keepdims=True).shape == (1, 4)
    assert logsumexp(np.zeros((0, 4)), axis=1).shape == (0,)                      # no slices at all: nothing
    with pytest.raises(TypeError, match="logsumexp: a must be an array"):
        logsumexp([[1.0, 2.0]])


def _log_softmax_fsum(logits):
    """The reference: each row in Python floats (float64), the sum by math.fsum (exactly rounded)."""
    out = []
    for row in logits.astype(np.float64).tolist():
        m = max(row)
        log_s = math.log(math.fsum(math.exp(v - m) for v in row))
        out.append([(v - m) - log_s for v in row])
    return np.array(out)


def test_float32_log_softmax_of_large_logits_against_an_exact_reference():
    """Logits near 1e4 in float32 (spacing 1e-3 there): log p and the gradient p - onehot stay accurate to
    float32's own precision. Written l - (m + log s), log p is off by up to 5e-4 and the gradient by a
    relative 5e-4 (the issue measured 5.3e-5 on its logits); the tolerances below are 1e-5."""
    logits = (1e4 + 3 * np.random.default_rng(6).standard_normal((16, 10))).astype(np.float32)    # (16, 10)
    labels = np.arange(16) % 10
    reference = _log_softmax_fsum(logits)                                                    # (16, 10) float64
    logp = log_softmax(logits)
    assert logp.dtype == np.float32
    np.testing.assert_allclose(logp, reference, rtol=0, atol=1e-5)
    _, dlogits = softmax_cross_entropy(logits, labels)
    expected = np.exp(reference)
    expected[np.arange(16), labels] -= 1.0
    np.testing.assert_allclose(dlogits, expected / 16, rtol=1e-5, atol=0)
    wrong = logits - logsumexp(logits, axis=1, keepdims=True)                # the regression's form fails
    assert np.abs(wrong - reference).max() > 1e-4


def test_streamed_log_mean_exp_equals_one_logsumexp_over_all_samples():
    log_w = np.random.default_rng(5).standard_normal((10, 4)) * 30 - 100          # (k, B) log-weights
    chunks = (log_w[:3], log_w[3:4], log_w[4:])                                   # uneven chunks
    expected = np.log(np.exp(log_w + 100).mean(0)) - 100                          # shifted by hand
    np.testing.assert_allclose(_log_mean_exp(iter(chunks), 10), expected, rtol=1e-13)


def test_cross_entropy_names_bad_labels():
    with pytest.raises(ValueError, match="0..2"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="integer"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_linear_probe_separates_separable_classes():
    rng = np.random.default_rng(4)
    centres = np.array([[4.0, 0.0], [-4.0, 0.0], [0.0, 4.0]])
    labels = rng.integers(0, 3, 300)
    h = (centres[labels] + rng.standard_normal((300, 2))).astype(np.float32)
    probe = LinearProbe(2, 3)
    losses = probe.fit(h[:200], labels[:200], epochs=30, batch_size=50, lr=0.05)
    assert losses[-1] < losses[0] / 3
    assert probe.accuracy(h[200:], labels[200:]) >= 0.97


# ---- the conditional VAE ------------------------------------------------------------------

def small_cvae():
    return CVAE(CVAEConfig(n_in=12, hidden=(8,), latent=3, n_classes=4))


def test_pack_appends_the_one_hot_label():
    x = np.random.default_rng(5).random((3, 12)).astype(np.float32)
    xy = pack(x, np.array([2, 0, 3]), 4)
    assert xy.shape == (3, 16) and xy.dtype == np.float32
    np.testing.assert_array_equal(xy[:, :12], x)
    np.testing.assert_array_equal(xy[:, 12:], one_hot(np.array([2, 0, 3]), 4))
    with pytest.raises(ValueError, match="0..3"):
        one_hot(np.array([4]), 4)


def test_the_label_reaches_the_decoder_and_the_encoder():
    model = small_cvae()
    x = np.random.default_rng(6).random((5, 12)).astype(np.float32)
    eps = np.random.default_rng(7).standard_normal((5, 3)).astype(np.float32)
    a = model.objective(pack(x, np.zeros(5, np.int64), 4), backward=False, eps=eps)
    b = model.objective(pack(x, np.full(5, 2), 4), backward=False, eps=eps)
    assert float(a["rec"]) != float(b["rec"]) and float(a["kl"]) != float(b["kl"])
    z = np.zeros((2, 3), np.float32)
    assert not np.allclose(model.decode(z, np.array([0, 0])), model.decode(z, np.array([1, 3])))
    images, codes = model.class_grid(2, backend.rng(0))
    assert images.shape == (8, 12) and codes.shape == (2, 3)
    np.testing.assert_allclose(images[:4], model.decode(np.repeat(codes[:1], 4, 0), np.arange(4)), rtol=1e-6)
    with pytest.raises(ValueError, match="pack"):
        model.encode(x)                                   # the pixels alone: the label is missing


def test_cvae_checkpoint_round_trip(tmp_path):
    model = small_cvae()
    path = checkpoint.save(tmp_path / "c.npz", model)
    loaded, _, _ = checkpoint.load(path)
    assert isinstance(loaded, CVAE) and loaded.config == model.config
    z = np.random.default_rng(8).standard_normal((3, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.decode(z, np.array([0, 1, 2])), model.decode(z, np.array([0, 1, 2])))
