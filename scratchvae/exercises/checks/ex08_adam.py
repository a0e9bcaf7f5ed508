"""Exercise 8's check: your Adam step (Kingma & Ba 2015, Algorithm 1), with bias correction.

Adam has no derivative to check; it has known values and the library's Adam to agree with:
  1. step 1 moves every weight by lr against the sign of g (there m_hat = g and v_hat = g^2);
     _step1_mistakes names the usual slips by the change each makes;
  2. the state returned for the next step holds m and v before bias correction;
  3. five steps agree with scratchvae.nn.optim.Adam.

Your file: ex08_adam.py (stubs/, solutions/); the library's: scratchvae/nn/optim.py, Adam.step.

The two kinds of check, and the list of every exercise's file: __init__.py beside this one; how
your code is called: ../calls.py; what a known value says when it is off: ../facts.py.
"""

import numpy as np

from ...nn.optim import Adam
from ..calls import Calls
from ..facts import Fact


def check_8(mod):
    """Known values only: Adam has no derivative to check, but it has the library's Adam to agree with."""
    calls = Calls()
    rng = np.random.default_rng(17)
    p0 = rng.standard_normal((3, 4))
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    ref_p, ref_g = p0.copy(), np.zeros_like(p0)
    ref = Adam([("w", ref_p, ref_g)], lr=0.01)
    g1 = rng.choice([-1.0, 1.0], (3, 4)) * (1 + rng.random((3, 4))) * 1e-3    # small: |g| in [1e-3, 2e-3]

    def step(p, g, m, v, t):
        return calls("adam_step", lambda *a: mod.adam_step(*a, lr=0.01, b1=0.9, b2=0.999, eps=1e-8),
                     p, g, m, v, t, names=("p", "g", "m", "v", "t"), may_change=("p", "m", "v"))

    calls.twice("adam_step", lambda: step(p0, g1, np.zeros_like(p0), np.zeros_like(p0), 1))
    for t in range(1, 6):
        g = g1 if t == 1 else rng.standard_normal((3, 4))
        p, m, v = (np.array(a, dtype=float) for a in step(p, g, m, v, t))
        ref_g[...] = g
        ref.step()
        if t == 1:
            p1, state1 = p.copy(), [m.copy(), v.copy()]
    step1 = Fact("step 1 moves every weight by lr = 0.01 against the sign of g (here |g| ~ 1e-3)",
                 -0.01 * np.sign(g1), p1 - p0, "on step 1, m_hat = g and v_hat = g^2, so the update is lr g / |g|",
                 rtol=1e-4, variants=_step1_mistakes(g1, 0.01),
                 overflow_hint="1 - b1^t is 0 if the power is b1^0 (t - 1 where t belongs, or t counted from 0), "
                               "and sqrt of a negative v is NaN (v must hold g^2)")
    step1.blame = ("your step 1 does not move each weight by lr, as Adam's first step must (there m_hat = g and "
                   f"v_hat = g^2, so the update is lr g / |g|): {step1.pattern()}")
    ratios = _ratios(state1, [g1, g1 * g1], [0.1, 0.001])                  # m / g and v / g^2, worst entries
    corrected = Fact("", [1.0, 1.0], ratios, rtol=1e-6).passed               # m_hat = g and v_hat = g^2 stored?
    state = Fact("the state after step 1 holds the running means before bias correction: m / g = 1 - b1 = 0.1 and "
                 "v / g^2 = 1 - b2 = 0.001 at every entry (worst entries shown)", [0.1, 0.001], ratios,
                 "you returned the bias-corrected m_hat and v_hat as the new state: they are for this step's update "
                 "only; return m and v as the two running-mean lines left them (the next step corrects them "
                 "afresh, by 1 - b1^(t+1))" if corrected else
                 "return m and v as the two running-mean lines left them, before the division by 1 - b1^t", rtol=1e-6,
                 blame="your update is right on step 1, but the state you return for the next step is not the "
                       "uncorrected running means m and v: every later step starts from it")
    later = ("step 1 already differs (above): fix it first" if not step1.passed else
             "the state after step 1 is wrong (above), so every later step starts from wrong m and v"
             if not state.passed else
             "step 1 and the state agree, later steps do not: check that the powers b1^t and b2^t use the t "
             "passed in (the step number, 1 on the first step)")
    return [step1, state, Fact("the weights after 5 steps, against scratchvae.nn.optim.Adam", ref_p, p, later,
                               rtol=1e-6)] + calls.claims()


def _step1_mistakes(g, lr, b1=0.9, b2=0.999, eps=1e-8):
    """{a named mistake: the change p1 - p0 it makes on step 1}, from m = v = 0 and t = 1."""
    m, v = (1 - b1) * g, (1 - b2) * g * g
    return {"no bias correction (m and v used as they are; divide m by 1 - b1^t and v by 1 - b2^t)":
                -lr * m / (np.sqrt(v) + eps),
            "the bias correction one step ahead (b^(t + 1) where b^t belongs)":
                -lr * (m / (1 - b1 ** 2)) / (np.sqrt(v / (1 - b2 ** 2)) + eps),
            "only m corrected (v_hat = v)": -lr * (m / (1 - b1)) / (np.sqrt(v) + eps),
            "only v corrected (m_hat = m)": -lr * m / (np.sqrt(v / (1 - b2)) + eps),
            "eps inside the square root: sqrt(v_hat + eps) where sqrt(v_hat) + eps belongs":
                -lr * g / np.sqrt(g * g + eps),
            "no square root: v_hat where sqrt(v_hat) belongs": -lr * g / (g * g + eps),
            "the update's sign flipped: p + lr ... where p - lr ... belongs": lr * g / (np.abs(g) + eps)}


def _ratios(got, by, want):
    """For each pair, the entry of got[i] / by[i] farthest from want[i] (one number each), or got as it came."""
    try:
        ratios = [np.asarray(g, dtype=float) / b for g, b in zip(got, by)]
        return [float(r.flat[np.argmax(np.abs(r - w))]) for r, w in zip(ratios, want)]
    except (TypeError, ValueError):
        return got
