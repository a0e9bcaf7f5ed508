"""The pictures say what they show: the manifold's z axes, the real digits at the ends of each
interpolation, whole epochs and a KL panel of its own, the dimension under each KL bar.

Each test draws into a figure that is kept (plots._save is replaced) and reads the axes back."""

import numpy as np
import pytest

from scratchvae import plots


@pytest.fixture
def figures(monkeypatch):
    """Keep each figure a plots function draws, instead of writing and closing it."""
    kept = []

    def keep(fig, path):
        kept.append(fig)
        return path
    monkeypatch.setattr(plots, "_save", keep)
    yield kept
    for fig in kept:
        plots.pyplot().close(fig)


def test_manifold_ticks_land_on_the_cells_of_the_same_z():
    n, side = 20, 28
    q = plots.manifold_grid(n)[:n, 0]                        # the z1 of the top row's cells, left to right
    at, labels = plots.manifold_ticks(n, side, values=tuple(q))
    centres = [i * (side + 1) + (side - 1) / 2 for i in range(n)]
    np.testing.assert_allclose(at, centres, atol=1e-9)
    assert len(labels) == n


def test_equal_steps_in_z_are_closer_together_toward_the_edges():
    at, labels = plots.manifold_ticks(20, 28)
    assert labels == ["-1.5", "-1", "-0.5", "0", "0.5", "1", "1.5"]
    gaps = np.diff(at)
    assert gaps[3] > gaps[4] > gaps[5]                      # 0..0.5 wider than 0.5..1 wider than 1..1.5
    np.testing.assert_allclose(gaps, gaps[::-1])            # symmetric about z = 0
    middle = (20 - 1) / 2 * 29 + 27 / 2
    assert at[3] == pytest.approx(middle)                   # z = 0 in the middle of the picture


def test_manifold_is_drawn_on_z1_and_z2_with_z2_growing_upward(figures):
    def decode(z):                                           # brightness grows with z2: the top row is brightest
        return np.repeat((z[:, 1:2] - z[:, 1].min()) / np.ptp(z[:, 1]), 16, axis=1)
    plots.save_manifold(decode, "unused.png", n=6)
    ax = figures[0].axes[0]
    assert ax.get_xlabel().startswith("z1") and "normal quantiles" in ax.get_xlabel()
    assert ax.get_ylabel().startswith("z2")
    y_at = dict(zip([t.get_text() for t in ax.get_yticklabels()], ax.get_yticks()))
    assert y_at["1"] < y_at["0"] < y_at["-1"]               # image rows count downward
    image = ax.get_images()[0].get_array()
    assert image[1, 1] > image[-2, 1]                       # the top row decodes the largest z2


def test_interpolations_show_the_real_test_digits_at_both_ends(figures):
    rng = np.random.default_rng(0)
    x_a, x_b, line = rng.random((3, 16)), rng.random((3, 16)), rng.random((3, 5, 16))
    plots.save_interpolations(line, "unused.png", ends=(x_a, x_b))
    left, middle, right = figures[0].axes
    np.testing.assert_allclose(left.get_images()[0].get_array(), plots.tile(x_a, 1))
    np.testing.assert_allclose(right.get_images()[0].get_array(), plots.tile(x_b, 1))
    np.testing.assert_allclose(middle.get_images()[0].get_array(), plots.tile(line.reshape(15, 16), 5))
    assert "x_a" in left.get_title() and "x_b" in right.get_title()


def test_loss_curves_have_whole_epochs_and_the_kl_on_its_own_axis(figures):
    history = [{"epoch": e, "train_loss": 160 - 5 * e, "test_loss": 150 - 5 * e, "train_rec": 140 - 6 * e,
                "test_rec": 128 - 6 * e, "train_kl": 20 + e, "test_kl": 22 + e} for e in (1, 2, 3)]
    plots.save_loss_curves(history, "unused.png")
    loss, rec, kl = figures[0].axes
    assert "KL" in kl.get_title() and "reconstruction" in rec.get_title()
    low, high = kl.get_ylim()
    assert 15 < low and high < 30                           # the KL's own scale, not 0 to 140
    for ax in (loss, rec, kl):
        ticks = [t for t in ax.get_xticks() if 1 <= t <= 3]
        assert ticks == [1, 2, 3]                           # whole epochs only


def test_kl_bars_are_labelled_with_their_dimension(figures):
    plots.save_kl_per_dim(np.array([0.1, 3.0, 0.0, 1.5]), "unused.png")
    ax = figures[0].axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "3", "0", "2"]
    np.testing.assert_allclose([b.get_height() for b in ax.patches], [3.0, 1.5, 0.1, 0.0])


def test_the_latent_map_marks_the_region_the_manifold_decodes(figures):
    lo, hi = plots.manifold_extent()
    assert lo == pytest.approx(-1.6449, abs=1e-4) and hi == pytest.approx(1.6449, abs=1e-4)
    z, labels = np.random.default_rng(0).standard_normal((50, 2)), np.arange(50) % 10
    plots.save_latent_scatter(z, labels, "unused.png", box=(lo, hi))
    (square,) = [p for p in figures[0].axes[0].patches if p.get_label() == "the grid of manifold.png"]
    assert square.get_xy() == pytest.approx((lo, lo)) and square.get_width() == pytest.approx(hi - lo)
