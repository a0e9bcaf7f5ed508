"""A guided tour of gradient checking: how a hand-written derivative is tested, and what the test cannot see.

    python demos/gradcheck_tour.py              # every step, under half a second
    python demos/gradcheck_tour.py --step 5     # one step

Read this file next to its output. Every step runs the library's own checker (scratchvae/gradcheck/),
the same functions the tests call and the learner's track (python -m scratchvae.exercises) uses.

Sources: CS231n's gradient_check.py (centred differences, relative error); Kingma & Welling (2014),
"Auto-Encoding Variational Bayes" (the KL of step 3 and the reparameterization of step 5).

Steps: 1. check one layer and read the report column by column  2. planted bugs in an activation,
and how the checker tells a forgotten dy from a sign flip  3. a planted bug in a loss  4. why float64
5. what a gradient check cannot see: a wrong forward  6. summary.
Each step tests its own lesson: the exit status is 0 when every lesson held, 1 otherwise.
"""
import textwrap

import numpy as np

from scratchvae import cli
from scratchvae import gradcheck as gc
from scratchvae.nn.activations import Sigmoid
from scratchvae.nn.dense import Dense
from scratchvae.nn.kl import gaussian_kl
from scratchvae.nn.losses import bce_with_logits
from scratchvae.nn.reparam import reparameterize, reparameterize_backward

F64 = np.float64


def parse_args(argv=None):
    p = cli.ArgumentParser(prog="gradcheck_tour.py",
                           description="A guided tour of the gradient checker, with planted bugs.")
    p.add_argument("--step", type=int, choices=range(1, 6), help="run only this step (1-5); default: all")
    return p.parse_args(argv)


def say(text):
    print("\n" + textwrap.dedent(text).strip("\n"))


def heading(number, title):
    print(f"\n{'=' * 100}\nStep {number}. {title}\n{'=' * 100}")


def randn(seed, *shape, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale          # float64


# ---------------------------------------------------------------------------------------------------
# Step 1. Check one layer, and read the report
# ---------------------------------------------------------------------------------------------------
def step_1():
    heading(1, "check one layer: a float64 Dense, y = x @ W + b")
    layer = Dense(5, 3, "glorot", np.random.default_rng(0), dtype=F64)
    x = randn(1, 4, 5)                                                         # (N, D) = (4, 5)
    rows = gc.check_layer(layer, x, "Dense(5, 3)")
    say("""
        check_layer turns the layer into one scalar, L = sum(layer.forward(x) * dy), with a fixed random
        dy, so dL/dy = dy. It calls backward(dy) once (the analytic gradients dx, dW, db), then nudges
        every entry of x, W and b by +h and -h (h = 1e-5, gradcheck.STEP) and takes (L(+h) - L(-h)) / 2h
        (the numeric ones).
    """)
    print("\n" + gc.format_report(rows))
    say(f"""
        How to read the table (one row per tensor, under the name of its component):
          component    what was checked (the name you gave, or repr(layer)), on a line of its own
          tensor       which gradient: x is the input gradient dx; W and b are the parameter gradients
          shape        the tensor's shape; the gradient must have the same one
          worst entry  the index where |analytic - numeric| is largest: where to look when a row fails
          analytic     your backward's value at that entry
          numeric      the centred difference at that entry
          rel. error   max |a - n| / max(|a| + |n|) over the whole tensor: scale-free, so one threshold
                       fits a gradient of size 1e-3 and one of size 1e3
          result       ok when rel. error <= {gc.THRESHOLD:.0e}. A correct float64 gradient lands near 1e-9 to
                       1e-11; a wrong formula lands near 1e-2 to 1. The gap is the point of float64.
    """)
    return all(r.passed for r in rows) and {r.tensor for r in rows} == {"x", "W", "b"}


# ---------------------------------------------------------------------------------------------------
# Step 2. A planted bug in an activation
# ---------------------------------------------------------------------------------------------------
class SigmoidForgetsOneMinusY(Sigmoid):
    """PLANTED BUG: sigmoid'(x) = y (1 - y), but this backward forgets the (1 - y)."""

    def backward(self, dy):
        y = self._take_cache()
        return dy * y                            # should be dy * y * (1 - y)


class SigmoidForgetsDy(Sigmoid):
    """PLANTED BUG: the chain rule's upstream factor dy is left out: returns sigmoid'(x), not dy * sigmoid'(x)."""

    def backward(self, dy):
        y = self._take_cache()
        return y * (1 - y)                       # should be dy * y * (1 - y)


def step_2():
    heading(2, "planted bugs in an activation: Sigmoid whose backward forgets (1 - y), or forgets dy")
    x = randn(2, 4, 5, scale=2.0)
    rows = gc.check_layer(Sigmoid(), x, "Sigmoid (library)") + \
        gc.check_layer(SigmoidForgetsOneMinusY(), x, "Sigmoid, bug: no (1 - y)")
    forgets_dy = gc.check_layer(SigmoidForgetsDy(), x, "Sigmoid, bug: no dy")
    print("\n" + gc.format_report(rows + forgets_dy))
    say("""
        The library's Sigmoid passes; the planted ones fail on tensor x, by far more than the threshold.
        The first one's analytic minus numeric is dy * y - dy * y (1 - y) = dy * y^2, so its worst entry is
        one where y is near 1 (a large x): there the forgotten (1 - y) is near 0 and matters most.
        The second one scores a relative error near 1.00, which is also what a flipped sign scores. The
        line under the table tells them apart: the checker compares your gradient with the numeric one
        computed with dy = 1, and it matches, so the hint says dy is missing rather than a sign.
        In a test, assert_passed turns the report into an exception naming the component and the tensor:
    """)
    try:
        gc.assert_passed(rows)
        named = False
    except gc.GradientCheckError as err:
        print("    GradientCheckError: " + str(err).splitlines()[0])
        named = "Sigmoid, bug: no (1 - y):x" in str(err)
    good, bad = rows
    return good.passed and not bad.passed and bad.error > 1e-2 and named \
        and "ignores the upstream gradient dy" in forgets_dy[0].hint and "sign" not in forgets_dy[0].hint


# ---------------------------------------------------------------------------------------------------
# Step 3. A planted bug in a loss
# ---------------------------------------------------------------------------------------------------
def kl_with_dmu_sign_flipped(mu, logvar):
    """PLANTED BUG: the value and dKL/dlogvar are right; dKL/dmu has the wrong sign (it is +mu/N)."""
    kl, dmu, dlogvar = gaussian_kl(mu, logvar)
    return kl, -dmu, dlogvar


def step_3():
    heading(3, "a planted bug in a loss: the Gaussian KL with dKL/dmu of the wrong sign")
    inputs = {"mu": randn(3, 4, 3), "logvar": randn(4, 4, 3)}                 # (N, J) = (4, 3)
    rows = gc.check_loss(gaussian_kl, inputs, ["mu", "logvar"], "gaussian_kl (library)") + \
        gc.check_loss(kl_with_dmu_sign_flipped, inputs, ["mu", "logvar"], "gaussian_kl, bug: -dmu")
    print("\n" + gc.format_report(rows))
    say("""
        check_loss differentiates the returned value and compares each returned gradient: the planted
        version fails on mu and passes on logvar, so the mistake is in dmu, not in the value (a wrong
        value would usually fail both). The size of the error is a clue, never a diagnosis:
          a sign flip       a = -n   gives |a - n| / (|a| + |n|) = 2|n| / 2|n| = 1 exactly
          dy forgotten      a = n/dy gives about 1 too, for a random dy (step 2)
          a factor 2 extra  a = 2n   gives |n| / 3|n|  = 0.33
          1/N forgotten     a = N n  gives (N - 1) / (N + 1), 0.6 for N = 4
        so the checker reads the pattern of the whole tensor instead (scratchvae/gradcheck/diagnose.py)
        and says which it is, under the table.
    """)
    verdict = {r.tensor: r.passed for r in rows[2:]}
    return all(r.passed for r in rows[:2]) and verdict == {"mu": False, "logvar": True} \
        and abs(rows[2].error - 1.0) < 1e-6 and "a sign is flipped" in rows[2].hint


# ---------------------------------------------------------------------------------------------------
# Step 4. Why float64
# ---------------------------------------------------------------------------------------------------
def step_4():
    heading(4, "why float64: one centred difference by hand, in float32 and in float64")
    logits, target = randn(5, 4, 6, scale=2.0), np.random.default_rng(6).random((4, 6))
    _, analytic = bce_with_logits(logits, target)                             # float64 dL/dlogits (4, 6)
    a = analytic[0, 0]
    try:
        gc.numerical_gradient(lambda: bce_with_logits(logits, target)[0], logits.astype(np.float32))
    except TypeError as err:
        print(f"\nThe library refuses float32 outright:\n    TypeError: {err}")
    say("""
        So do it by hand for one entry of the BCE loss (N, D) = (4, 6): L(l + h e_00) - L(l - h e_00),
        over 2h, with everything in float32, then in float64. Below, the error of that one entry,
        |a - n| / (|a| + |n|), against the float64 analytic gradient:
    """)
    print(f"\n    {'h':>8} {'float32 error':>15} {'float64 error':>15}")
    errors = {}
    for h in (1e-1, 1e-2, 1e-3, 1e-4, gc.STEP):
        errors[h] = []
        for dtype in (np.float32, np.float64):
            l, t = logits.astype(dtype), target.astype(dtype)
            plus, minus = l.copy(), l.copy()
            plus[0, 0] += dtype(h)
            minus[0, 0] -= dtype(h)
            n = (float(bce_with_logits(plus, t)[0]) - float(bce_with_logits(minus, t)[0])) / (2 * h)
            errors[h].append(abs(a - n) / (abs(a) + abs(n)))
        print(f"    {h:>8.0e} {errors[h][0]:>15.2e} {errors[h][1]:>15.2e}")
    value = float(bce_with_logits(logits, target)[0])
    say(f"""
        Two errors pull against each other. Truncation, from the curvature the straight line ignores,
        shrinks like h^2. Rounding does not shrink: L = {value:.3f} is stored to about 1e-7 of itself in
        float32 (1e-16 in float64), and that noise is divided by 2h. At h = {gc.STEP:.0e} the float32 noise
        is about 1.2e-7 * {value:.1f} / {2 * gc.STEP:.0e} = {1.2e-7 * value / (2 * gc.STEP):.3f}, against a gradient
        of {a:.3f}: the two values of L differ by only a few float32 rounding steps, so their difference
        is mostly rounding.
        In float64 the same h leaves errors near 1e-10, far below the threshold and far below the 1e-2
        of a wrong formula. That is why the check runs in float64, and training in float32.
    """)
    return errors[gc.STEP][0] > 1e-3 and errors[gc.STEP][1] < 1e-8


# ---------------------------------------------------------------------------------------------------
# Step 5. What a gradient check cannot see
# ---------------------------------------------------------------------------------------------------
def reparameterize_std_is_var(mu, logvar, eps):
    """PLANTED BUG in the forward: multiplies eps by exp(logvar) = sigma^2 instead of exp(0.5 logvar) = sigma."""
    std = np.exp(logvar)                         # should be np.exp(0.5 * logvar)
    return mu + std * eps, (std, eps)


def reparameterize_std_is_var_backward(dz, cache):
    """The backward of the wrong forward, derived correctly: d exp(logvar) / d logvar = exp(logvar)."""
    std, eps = cache
    return dz, dz * eps * std                    # (dmu, dlogvar) of z = mu + exp(logvar) * eps


def step_5():
    heading(5, "what a gradient check cannot see: a wrong forward with a backward that matches it")
    inputs = {"mu": randn(7, 4, 3), "logvar": randn(8, 4, 3), "eps": randn(9, 4, 3)}
    rows = gc.check_function(reparameterize, reparameterize_backward, inputs, ["mu", "logvar"],
                          "reparameterize (library)") + \
        gc.check_function(reparameterize_std_is_var, reparameterize_std_is_var_backward, inputs, ["mu", "logvar"],
                       "reparam, bug: std = var")
    print("\n" + gc.format_report(rows))
    say("""
        Every row passes, the planted one too. A gradient check asks one question: is backward the
        derivative of forward? Here it is, of the wrong forward. Whether forward computes the function of
        the paper is a different question, and only a test of meaning answers it. For the
        reparameterization: z should be distributed as N(mu, exp(logvar)), so its samples should have
        mean mu and standard deviation exp(0.5 logvar). Draw 100,000 of them (eps from a seeded generator):
    """)
    mu, logvar = np.array([[0.5, -1.0]]), np.log(np.array([[0.25, 4.0]]))     # requested std 0.5 and 2
    eps = np.random.default_rng(10).standard_normal((100_000, 2))              # (S, J)
    mu_s, logvar_s = np.broadcast_to(mu, eps.shape), np.broadcast_to(logvar, eps.shape)
    z_right, _ = reparameterize(mu_s, logvar_s, eps)                           # (S, J)
    z_wrong, _ = reparameterize_std_is_var(mu_s, logvar_s, eps)
    want_std = np.exp(0.5 * logvar[0])
    print(f"    {'dim':>3} {'mu':>6} {'std wanted':>11} | {'library: mean':>14} {'std':>7} | "
          f"{'planted: mean':>14} {'std':>7}")
    for j in range(2):
        print(f"    {j:>3} {mu[0, j]:>6.2f} {want_std[j]:>11.3f} | {z_right[:, j].mean():>14.3f} "
              f"{z_right[:, j].std():>7.3f} | {z_wrong[:, j].mean():>14.3f} {z_wrong[:, j].std():>7.3f}")
    say("""
        The means agree; the planted standard deviations are sigma^2 (0.25 instead of 0.5, 4 instead of
        2). A VAE trained with it still trains, and its loss still falls: nothing crashes, the model is
        just not the one in the paper. This is a real bug in a well-known NumPy VAE. The lesson: test the
        backward with finite differences AND the forward against a fact (a known value, a sample
        statistic, KL(N(0, I) || N(0, I)) = 0); tests/test_losses.py and the exercises do both.
    """)
    right_ok = np.allclose(z_right.std(0), want_std, rtol=0.02)
    wrong_caught = not np.allclose(z_wrong.std(0), want_std, rtol=0.02)
    return all(r.passed for r in rows) and right_ok and wrong_caught


# ---------------------------------------------------------------------------------------------------
# Step 6. Summary
# ---------------------------------------------------------------------------------------------------
LESSONS = {
    1: (step_1, "a correct layer passes with errors far below 1e-7, for x and every parameter"),
    2: (step_2, "a missing factor in an activation's backward fails; a missing dy is named, not called a sign"),
    3: (step_3, "a sign error in dKL/dmu fails on mu only (error exactly 1), logvar stays ok"),
    4: (step_4, "in float32 a centred difference at h = 1e-5 is noise; in float64 it is exact to ~1e-10"),
    5: (step_5, "a wrong forward with a matching backward PASSES the check; sample statistics catch it"),
}


def main(argv=None):
    args = parse_args(argv)
    steps = [args.step] if args.step else sorted(LESSONS)
    held = {k: LESSONS[k][0]() for k in steps}

    heading(6, "summary")
    for k, ok in held.items():
        print(f"  [{'held' if ok else 'NOT HELD'}] {k}. {LESSONS[k][1]}")
    say("""

        Now write backward passes yourself, from one dense layer to the whole VAE:
            python -m scratchvae.exercises start      # copies the stubs into ./scratchvae_exercises
            python -m scratchvae.exercises check 1    # after writing ./scratchvae_exercises/ex01_dense.py
    """)
    if not all(held.values()):
        print("\nSome lesson did not hold: the library's checker or a component changed behaviour.")
        return 1
    print(f"\nEvery lesson held ({len(held)} of {len(held)}).")
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run_main("gradcheck_tour.py", main))
