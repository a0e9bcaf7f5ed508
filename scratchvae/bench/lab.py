"""python -m scratchvae.bench --recipe lab [--seconds S]: is the lab fast enough to feel live?

Steps, all in one process on this machine, one after the other so that they see the same load:
  1. warm up (Numba compiles the fast path's kernels once) and time one epoch of train.fit on the lab's
     model (784-400-2-400-784, batch 128, the fused Adam): fit's images per second
  2. serve a lab on 127.0.0.1, start a run through the API and let it train for SECONDS (default 30)
     while a client polls GET /api/lab/state four times a second, as the page does, and sends the other
     calls now and then (beta, lr, decode, step-free controls, one exact inference); every answer is timed
  3. pause; the lab's images per second = images trained / wall seconds from the start's answer to the
     pause's (frames, commands and all), and the held-out -ELBO: the lab's own 300 digits and all 10,000
     MNIST test digits (train.evaluate, as fit's "test")
  4. time fit's epoch again, so a change of load between steps 1 and 3 shows
Nothing is asserted; the figures are printed for people, with the machine's load beside them.

python -m scratchvae.bench --recipe lab-presets [--steps N] trains each preset of the page for N steps
(default 2400) and prints the figures its sentence describes (presets()).
"""
import http.client
import json
import os
import threading
import time

import numpy as np

from .. import pretrained
from ..data import load_mnist
from ..explore import lab_frames as frames
from ..explore import server
from ..explore.lab import DEFAULTS
from ..explore.lab_api import Routes
from ..explore.latent_space import LatentSpace
from ..fast import Adam
from ..models.vae import VAE, VAEConfig
from ..train import evaluate, fit


def fit_images_per_second(x_train):
    """One epoch of fit on the lab's model and settings: images per wall second (fit's own epoch timer)
    and per CPU second of this thread (BLAS runs on the calling thread with one thread; so does Numba)."""
    model = VAE(VAEConfig(hidden=(DEFAULTS["hidden"],), latent=2, seed=0)).init_output_bias(x_train)
    cpu = time.thread_time()
    history = fit(model, Adam(list(model.parameters()), lr=DEFAULTS["lr"]), x_train, epochs=1, batch_size=128,
                  progress=False, log=None)
    cpu = time.thread_time() - cpu
    return len(x_train) / history[-1]["seconds"], len(x_train) / cpu


def call(port, method, path, body=None):
    """(status, answer, seconds) of one request on a fresh connection, as the page's fetch may use."""
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=None if body is None else json.dumps(body),
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    answer = json.loads(response.read())
    conn.close()
    return response.status, answer, time.perf_counter() - t0


def run(seconds=30.0):
    x_train, _ = load_mnist("train")
    x_test, y_test = load_mnist("test")
    print(f"machine: {os.cpu_count()} cores, load average {', '.join(f'{v:.1f}' for v in os.getloadavg())} "
          "(figures under load are not idle-machine figures)", flush=True)
    warm = VAE(VAEConfig(hidden=(DEFAULTS["hidden"],), latent=2, seed=0))
    fit(warm, Adam(list(warm.parameters())), x_train[:128 * 20], epochs=1, progress=False, log=None)   # 1. warm-up
    before, before_cpu = fit_images_per_second(x_train)
    print(f"fit, one epoch: {before:,.0f} images per wall second, {before_cpu:,.0f} per CPU second", flush=True)

    srv = server.start(LatentSpace(pretrained.load("vae-2"), x_test[:300], y_test[:300], name="vae-2"),
                       lab=Routes())                                                                       # 2.
    times, stop = {}, threading.Event()

    def poller():
        while not stop.is_set():
            times.setdefault("GET state", []).append(call(srv.port, "GET", "/api/lab/state")[2])
            time.sleep(0.25)

    t0 = time.perf_counter()
    status, _, _ = call(srv.port, "POST", "/api/lab/start", {})
    t_start = time.perf_counter()
    print(f"POST /api/lab/start answered {status} after {t_start - t0:.2f} s (loads MNIST, builds the model)")
    threading.Thread(target=poller, daemon=True).start()
    others = [("POST", "/api/lab/beta", {"beta": DEFAULTS["beta"]}), ("POST", "/api/lab/lr", {"lr": DEFAULTS["lr"]}),
              ("POST", "/api/lab/decode", {"z": [0.5, -0.5]}), ("POST", "/api/lab/exact", {"index": 7}),
              ("GET", "/api/lab/info", None)]
    k = 0
    while time.perf_counter() - t0 < seconds:
        time.sleep(1.0)
        method, path, body = others[k % len(others)]
        k += 1
        status, _, dt = call(srv.port, method, path, body)
        times.setdefault(f"{method} {path.removeprefix('/api/lab/')}", []).append(dt)
    stop.set()
    status, paused, dt = call(srv.port, "POST", "/api/lab/pause", {})                                    # 3.
    if status != 200:
        raise RuntimeError(f"POST /api/lab/pause answered {status}: {paused}")
    wall = time.perf_counter() - t_start
    times.setdefault("POST pause", []).append(dt)
    lab = srv.lab.session
    images, cpu, frame_cpu = lab.run.images, lab.cpu_seconds, lab.frame_cpu_seconds
    frame = lab.state()
    held = frame["curves"]["test_neg_elbo"][-1]
    full = evaluate(lab.run.model, x_test, seed=lab.run.settings["seed"])["neg_elbo"]
    srv.shutdown()
    srv.server_close()
    after, after_cpu = fit_images_per_second(x_train)                                                      # 4.
    print(f"fit again, one epoch: {after:,.0f} images per wall second, {after_cpu:,.0f} per CPU second")
    lab_ips, lab_cpu = images / wall, images / cpu
    print(f"lab: {images:,} images in {wall:.1f} wall seconds from the start's answer = {lab_ips:,.0f} images/s, "
          f"{lab_ips / max(before, after):.0%} to {lab_ips / min(before, after):.0%} of fit's")
    print(f"lab: {cpu:.1f} CPU seconds of its training thread (training, frames, commands) = {lab_cpu:,.0f} "
          f"images per CPU second, {lab_cpu / max(before_cpu, after_cpu):.0%} to "
          f"{lab_cpu / min(before_cpu, after_cpu):.0%} of fit's")
    print(f"held-out -ELBO {seconds:g} s after pressing start (step {paused['step']}, epoch {frame['epoch']}): "
          f"{held:.2f} nats on the lab's 300 digits, {full:.2f} on all 10,000 test digits "
          "(Bernoulli score of grey-level pixels)")
    print(f"frames published: {frame['frame']} in {wall:.1f} s ({frame['frame'] / wall:.1f} per second), "
          f"{1000 * frame_cpu / frame['frame']:.1f} ms of CPU each ({frame_cpu / cpu:.0%} of the training thread's)")
    for name, values in times.items():
        ms = 1000 * np.array(values)
        print(f"  {name:<16} {len(ms):4d} calls: median {np.median(ms):7.1f} ms, max {ms.max():7.1f} ms")
    print(f"load average now {', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    return 0


def presets(steps=2400):
    """Train each preset for `steps` steps (as the lab does, seed 0) and print what its sentence claims:
    held-out rec and KL, KL per dimension, how far the codes spread, q's mean std, and any divergence."""
    from ..explore.lab_run import PRESETS, Data, Run
    data = Data()
    for preset in PRESETS:
        run = Run({**DEFAULTS, **preset["settings"]}, data)
        t0 = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            while run.step < steps and run.train_step():
                pass
        if run.status == "diverged":
            print(f"{preset['name']:<22} {run.message}")
            continue
        test, mu, std = frames.held_out_figures(run.model, data.x_held, run.beta_now(), 0)
        r = np.linalg.norm(mu, axis=1)
        print(f"{preset['name']:<22} step {run.step}: held-out rec {test['rec']:.1f}, KL {test['kl']:.2f} "
              f"(per dimension {', '.join(f'{v:.2f}' for v in test['kl_per_dim'])}), codes: |mu| up to {r.max():.1f}, "
              f"{np.mean(r > 2):.0%} outside the 2-sigma circle; q's std {std.mean():.3f} on average "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0
