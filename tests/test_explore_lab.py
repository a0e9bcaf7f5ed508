"""The VAE lab without a browser: every /api/lab endpoint, its refusals, and what its numbers mean.

Kept fast: a tiny VAE (hidden width 8) on 2,048 training images; the lab's held-out digits are the real ones.
"""
import base64
import time

import numpy as np
import pytest
from test_explore import STATIC, call, page_files  # one request; the files a page loads (the explorer's tests)

from scratchvae import backend, checkpoint, pretrained
from scratchvae.data import load_mnist
from scratchvae.explore import lab_frames, server
from scratchvae.explore.__main__ import load_model, parse_args
from scratchvae.explore.lab import Lab
from scratchvae.explore.lab_api import Routes
from scratchvae.explore.lab_run import Data
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.nn.losses import bce_with_logits_per_example

TINY = {"hidden": 8, "seed": 3}


@pytest.fixture(scope="module")
def data():
    d = Data()
    d._train = load_mnist("train")[0][:2048]                 # 16 steps an epoch
    return d


@pytest.fixture(scope="module")
def space():
    from scratchvae.explore.latent_space import LatentSpace
    x, y = load_mnist("test")
    return LatentSpace(pretrained.load("vae-2"), x[:100], y[:100], name="vae-2")


@pytest.fixture(scope="module")
def idle(space, data, tmp_path_factory):
    """One server for the module; the refusals use its first lab, which never starts a run."""
    s = server.start(space, lab=Routes(Lab(tmp_path_factory.mktemp("lab"), data=data)))
    yield s
    s.shutdown()
    s.server_close()


@pytest.fixture
def srv(idle, data, tmp_path):
    """The module's server with a fresh lab plugged in (one run per lab), closed afterwards."""
    first, idle.lab = idle.lab, Routes(Lab(tmp_path / "lab", data=data))
    yield idle
    idle.lab.close()
    idle.lab = first


def until(srv, condition, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        state = call(srv, "GET", "/api/lab/state")[1]
        if condition(state):
            return state
        time.sleep(0.05)
    raise AssertionError(f"timed out; last state: status {state['status']}, step {state['step']}")


def test_the_state_before_any_start_and_the_page(srv):
    status, state = call(srv, "GET", "/api/lab/state")
    assert status == 200 and state["running"] is False and state["status"] == "none" and state["step"] == 0
    assert set(state["curves"]) >= {"step", "train_neg_elbo", "test_neg_elbo", "rate", "distortion"}
    assert state["codes"] == {"xy": [], "std": [], "labels": []}
    status, page = call(srv, "GET", "/lab")
    assert status == 200 and page_files(page) == ["/lab.css", "/common.js", "/lab.js"]           # shared code first
    for path in page_files(page):
        assert call(srv, "GET", path) == (200, (STATIC / path.lstrip("/")).read_bytes())
    assert b'href="/lab"' in call(srv, "GET", "/")[1]                          # the explorer links to the lab
    status, info = call(srv, "GET", "/api/lab/info")
    assert status == 200 and len(info["held_out"]["labels"]) == 300
    assert np.bincount(info["held_out"]["labels"]).tolist() == [30] * 10     # class-balanced
    for control in ("pause", "resume", "reset", "step", "save"):
        status, answer = call(srv, "POST", f"/api/lab/{control}", {})
        assert status == 409 and "start" in answer["error"]


def test_start_train_pause_step_beta_resume_reset(srv):
    status, first = call(srv, "POST", "/api/lab/start", TINY)
    assert status == 200 and first["step"] == 0 and len(first["codes"]["xy"]) == 300
    state = until(srv, lambda s: s["step"] >= 40 and len(s["curves"]["step"]) >= 3)
    assert state["running"] is True and state["images_per_second"] > 0
    c = state["curves"]
    assert all(len(c[k]) == len(c["step"]) for k in ("train_neg_elbo", "test_neg_elbo", "rate", "distortion"))
    np.testing.assert_allclose(np.add(c["rate"][1:], c["distortion"][1:]), c["test_neg_elbo"][1:], atol=2e-3)
    assert call(srv, "POST", "/api/lab/start", {})[0] == 409                  # one run per server

    status, paused = call(srv, "POST", "/api/lab/pause", {})
    assert status == 200 and paused["running"] is False
    time.sleep(0.3)
    state = call(srv, "GET", "/api/lab/state")[1]
    assert state["running"] is False and state["step"] == paused["step"]     # paused means no training

    status, stepped = call(srv, "POST", "/api/lab/step", {"digits": [0, 250]})
    assert status == 200 and stepped["step"] == paused["step"] + 1 and len(stepped["forces"]) == 2
    for pull in stepped["forces"]:                                           # the KL's pull is -beta * mu
        np.testing.assert_allclose(pull["kl"], -stepped["beta"] * np.array(pull["mu"]), rtol=1e-6)

    status, answer = call(srv, "POST", "/api/lab/beta", {"beta": 2.5})
    assert status == 200 and answer["beta"] == 2.5
    assert call(srv, "POST", "/api/lab/lr", {"lr": 0.002})[1]["lr"] == 0.002
    state = call(srv, "GET", "/api/lab/state")[1]
    assert {"step": stepped["step"], "what": "beta", "value": 2.5} in state["events"]
    assert state["settings"]["beta"] == 2.5 and state["beta_now"] == 2.5

    assert call(srv, "POST", "/api/lab/resume", {})[1]["running"] is True
    until(srv, lambda s: s["step"] > stepped["step"] + 5)

    status, reset = call(srv, "POST", "/api/lab/reset", {})
    assert status == 200 and reset["step"] == 0 and reset["running"] is False
    state = call(srv, "GET", "/api/lab/state")[1]                              # the same seed: the same start
    assert state["codes"]["xy"] == first["codes"]["xy"] and state["settings"]["beta"] == 1.0


BAD = [
    ("/api/lab/beta", {"beta": -1}, "finite number >= 0"),
    ("/api/lab/beta", {"beta": "1"}, "finite number >= 0"),
    ("/api/lab/beta", b'{"beta": 1e400}', "too large for a float64; every number must be finite"),   # at parsing
    ("/api/lab/beta", b'{"beta": NaN}', "finite"),
    ("/api/lab/beta", {}, "missing ['beta']"),
    ("/api/lab/beta", {"beta": 1, "gamma": 2}, "unknown ['gamma']"),
    ("/api/lab/lr", {"lr": 0}, "positive"),
    ("/api/lab/start", {"hidden": 0}, "'hidden'"),
    ("/api/lab/start", {"seed": -1}, "'seed'"),
    ("/api/lab/start", {"batch": 64}, "unknown ['batch']"),
    ("/api/lab/step", {"digits": [300]}, "'digits'"),
    ("/api/lab/exact", {"index": -1}, "'index'"),
    ("/api/lab/decode", {"z": [0]}, "list of 2 numbers"),
    ("/api/lab/fork", {"betas": [1]}, "two betas"),
    ("/api/lab/fork", {"betas": [1, -2]}, "finite number >= 0"),
]


@pytest.mark.parametrize("path, body, message", BAD)
def test_bad_values_are_one_line_json_errors(idle, path, body, message):
    status, answer = call(idle, "POST", path, body)
    assert status == 400 and message in answer["error"] and "\n" not in answer["error"]


def test_methods_paths_and_hosts_are_refused(idle):
    assert call(idle, "GET", "/api/lab/start")[0] == 405
    assert call(idle, "POST", "/api/lab/state", {})[0] == 405
    assert call(idle, "POST", "/api/lab/train_forever", {})[0] == 404
    assert call(idle, "GET", "/api/lab/state", headers={"Host": "evil.example:80"})[0] == 403
    assert call(idle, "POST", "/api/lab/start", {}, headers={"Host": "evil.example:80"})[0] == 403
    assert call(idle, "GET", "/api/lab/state")[1]["status"] == "none"         # the refused start did nothing


def test_exact_decode_fork_and_save(srv, tmp_path):
    call(srv, "POST", "/api/lab/start", TINY)
    until(srv, lambda s: s["step"] >= 20)
    status, exact = call(srv, "POST", "/api/lab/exact", {"index": 5})
    assert status == 200 and exact["label"] == 0 and exact["step"] >= 20
    assert exact["elbo"] < exact["log_px"] and abs(exact["gap"] - exact["kl_q_posterior"]) < 2e-3
    call(srv, "POST", "/api/lab/pause", {})
    status, decoded = call(srv, "POST", "/api/lab/decode", {"z": [0.5, -1.5]})
    expected = srv.lab.session.run.model.decode(np.float32([[0.5, -1.5]]))[0]
    assert status == 200 and decoded["z"] == [0.5, -1.5]
    np.testing.assert_array_equal(np.frombuffer(base64.b64decode(decoded["image"]), np.uint8),
                                  np.round(255 * expected).astype(np.uint8))
    status, _ = call(srv, "POST", "/api/lab/fork", {"betas": [1.0, 1.0], "steps": 12})   # same beta: same branch
    assert status == 200
    fork = until(srv, lambda s: s["fork"] and s["fork"]["done"] and s["status"] == "paused")["fork"]
    assert fork["traces"][0] == fork["traces"][1] and fork["traces"][0][-1]["step"] == fork["start_step"] + 12
    call(srv, "POST", "/api/lab/fork", {"betas": [0.0, 8.0], "steps": 12})
    fork = until(srv, lambda s: s["fork"] and s["fork"]["done"] and s["fork"]["betas"] == [0.0, 8.0])["fork"]
    low, high = fork["traces"][0][-1], fork["traces"][1][-1]
    assert low["rate"] > high["rate"]                                        # a heavier KL buys a lower rate

    status, saved = call(srv, "POST", "/api/lab/save", {})
    assert status == 200 and saved["path"].endswith("checkpoint.npz")
    model, name = load_model(parse_args(["--checkpoint", saved["path"]]))   # the explorer loads it
    lab_model = srv.lab.session.run.model
    z = np.float32([[0.5, -1.5]])
    np.testing.assert_array_equal(model.decode(z), lab_model.decode(z))
    assert checkpoint.load(saved["path"])[2]["step"] == srv.lab.session.run.step


def test_a_nan_stops_the_run_and_says_so(srv):
    call(srv, "POST", "/api/lab/start", TINY)
    call(srv, "POST", "/api/lab/pause", {})
    lab = srv.lab.session
    lab._call(lambda: lab.run.model.flat_params.fill(np.nan))               # as a too-large step would leave it
    assert call(srv, "POST", "/api/lab/step", {})[0] == 200
    state = call(srv, "GET", "/api/lab/state")[1]
    assert state["status"] == "diverged" and "nan" in state["message"] and state["running"] is False
    for control, body in (("resume", {}), ("step", {}), ("fork", {"betas": [1, 2], "steps": 5})):
        status, answer = call(srv, "POST", f"/api/lab/{control}", body)
        assert (status, answer["error"]) == (409, f"the run diverged at step {state['step']}; POST /api/lab/reset "
                                                  "to begin again"), control
    assert call(srv, "POST", "/api/lab/reset", {})[1]["status"] == "paused"


def test_a_server_without_a_lab_has_no_lab_paths(space):
    s = server.start(space)
    try:
        assert call(s, "GET", "/lab")[0] == 404 and call(s, "GET", "/api/lab/state")[0] == 404
        assert call(s, "POST", "/api/lab/start", {})[0] == 404
    finally:
        s.shutdown()
        s.server_close()


def test_the_training_thread_ends_with_the_server(space, data, tmp_path):
    s = server.start(space, lab=Routes(Lab(tmp_path, data=data)))
    call(s, "POST", "/api/lab/start", TINY)
    thread = s.lab.session._thread
    assert thread.is_alive()
    s.shutdown()
    s.server_close()
    thread.join(5)
    assert not thread.is_alive()


def test_the_pulls_on_mu_are_the_gradients_of_the_objective():
    """forces(): against centred differences of the per-image objective, with the same eps."""
    x, _ = load_mnist("test")
    model = VAE(VAEConfig(hidden=(16,), latent=2, seed=1), dtype=np.float64)
    xb, beta = x[:2].astype(np.float64), 3.0
    mu, rec_pull, kl_pull = lab_frames.forces(model, xb, beta, seed=7)
    _, logvar = model.encode(xb)
    eps = backend.rng([7, 1]).standard_normal((lab_frames.FORCE_SAMPLES, 2, 2), dtype=np.float64)

    def rec(m):                                     # mean over eps of -log p(x|z), per image: (2,)
        z = (m + np.exp(0.5 * logvar) * eps).reshape(-1, 2)
        logits = model.forward_eval(model.decoder, z)
        return bce_with_logits_per_example(logits, np.tile(xb, (lab_frames.FORCE_SAMPLES, 1))).reshape(-1, 2).mean(0)

    h = 1e-5
    for j in range(2):
        step = np.zeros_like(mu)
        step[:, j] = h
        numeric = (rec(mu + step) - rec(mu - step)) / (2 * h)                 # (2,) d rec / d mu_j per image
        np.testing.assert_allclose(rec_pull[:, j], -numeric, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(kl_pull, -beta * mu, rtol=1e-12)


def test_a_failure_inside_the_lab_is_a_500_with_one_line(idle, monkeypatch):
    monkeypatch.setattr(idle.lab.session, "exact", lambda index: np.linalg.inv(np.zeros((2, 2))))
    status, answer = call(idle, "POST", "/api/lab/exact", {"index": 0})
    assert status == 500 and "LinAlgError" in answer["error"] and "\n" not in answer["error"]
    assert call(idle, "GET", "/api/lab/state")[0] == 200                    # and the server goes on
