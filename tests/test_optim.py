"""The textbook optimizers (nn/optim.py): Adam's first step, the paper's algorithm box, convergence, validation.
The fused Adam of scratchvae/fast/ is tested against these in test_fast.py."""
import numpy as np
import pytest

from scratchvae import backend
from scratchvae.nn.optim import SGD, Adam


def _param(xp, values):
    p = xp.asarray(np.array(values, dtype=np.float64))
    return p, xp.zeros_like(p)


def test_adam_first_step_moves_each_weight_by_about_lr(xp):
    p, g = _param(xp, [1.0, -2.0, 0.5, 3.0])
    g[...] = xp.asarray([0.3, -5.0, 1e-3, 40.0])
    start = backend.to_host(p).copy()
    Adam([("p", p, g)], lr=0.01).step()
    # m_hat = g, v_hat = g^2 on step 1, so the move is lr * g / (|g| + eps) = lr * sign(g)
    np.testing.assert_allclose(start - backend.to_host(p), 0.01 * np.sign([0.3, -5.0, 1e-3, 40.0]), rtol=1e-4)


def test_adam_matches_the_algorithm_box_over_many_steps():
    rng = np.random.default_rng(0)
    p, g = _param(np, rng.standard_normal(5))
    ref, m, v = p.copy(), np.zeros(5), np.zeros(5)
    opt = Adam([("p", p, g)], lr=0.05, betas=(0.8, 0.99), eps=1e-2)   # a large eps, so its placement matters
    for t in range(1, 30):
        grad = rng.standard_normal(5)
        g[...] = grad
        opt.step()
        m = 0.8 * m + 0.2 * grad
        v = 0.99 * v + 0.01 * grad ** 2
        ref -= 0.05 * (m / (1 - 0.8 ** t)) / (np.sqrt(v / (1 - 0.99 ** t)) + 1e-2)
    np.testing.assert_allclose(p, ref, rtol=1e-12)             # the two forms are algebraically equal


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1), lambda ps: SGD(ps, lr=0.05, momentum=0.9),
                                  lambda ps: Adam(ps, lr=0.1)])
def test_optimizers_minimise_a_quadratic(make):
    target = np.array([3.0, -1.0, 0.5])
    p, g = _param(np, [0.0, 0.0, 0.0])
    opt = make([("p", p, g)])
    for _ in range(500):
        g[...] = 2 * (p - target)            # d/dp |p - target|^2
        opt.step()
    np.testing.assert_allclose(p, target, atol=1e-3)


def test_sgd_step_is_lr_times_gradient():
    p, g = _param(np, [1.0, 2.0])
    g[...] = [0.5, -1.0]
    SGD([("p", p, g)], lr=0.1).step()
    np.testing.assert_allclose(p, [0.95, 2.1])


@pytest.mark.parametrize("kwargs,match", [
    ({"lr": 0}, r"Adam: lr must be > 0, got 0.0"),
    ({"lr": -1e-3}, "lr must be > 0"),
    ({"lr": float("nan")}, "lr must be a finite number, got nan"),
    ({"betas": (1.0, 0.999)}, r"betas\[0\] must be in \[0, 1\), got 1.0"),
    ({"betas": (0.9, -0.1)}, r"betas\[1\] must be in \[0, 1\)"),
    ({"eps": 0}, "eps must be > 0"),
    ({"betas": 0.9}, r"betas must be a pair \(b1, b2\) such as \(0.9, 0.999\), got 0.9"),
    ({"betas": (0.9,)}, r"betas must be a pair"),
    ({"lr": True}, "lr must be a real number, got bool True"),
    ({"lr": "0.001"}, "lr must be a real number, got str '0.001'"),
])
def test_adam_rejects_impossible_hyperparameters(kwargs, match):
    p, g = _param(np, [1.0])
    with pytest.raises((ValueError, TypeError), match=match):
        Adam([("p", p, g)], **kwargs)


def test_sgd_rejects_bad_momentum_and_empty_params():
    p, g = _param(np, [1.0])
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        SGD([("p", p, g)], momentum=1.5)
    with pytest.raises(ValueError, match="no parameters"):
        Adam([])


def test_state_dict_round_trip():
    p, g = _param(np, [1.0, 2.0])
    g[...] = [0.1, 0.2]
    opt = Adam([("p", p, g)])
    opt.step()
    state = opt.state_dict()
    q, h = _param(np, [1.0, 2.0])
    other = Adam([("p", q, h)])
    other.load_state_dict(state)
    assert other.t == 1
    np.testing.assert_array_equal(other.m[0], opt.m[0])
    np.testing.assert_array_equal(other.v[0], opt.v[0])


def test_numpy_scalars_are_accepted_as_hyperparameters():
    p, g = _param(np, [1.0, 2.0])
    opt = Adam([("p", p, g)], lr=np.float32(1e-3), betas=(np.float64(0.9), np.float32(0.999)), eps=np.float64(1e-8))
    assert type(opt.lr) is float and opt.lr == pytest.approx(1e-3) and opt.b1 == 0.9
    assert SGD([("p", p, g)], lr=np.float16(0.5), momentum=np.float32(0.5)).momentum == 0.5
