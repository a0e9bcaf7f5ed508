"""The VAE lab: a 2-D VAE learns MNIST in a background thread while the page watches and steers it.

    python -m scratchvae.explore --lab          the page (static/lab.html) on 127.0.0.1; lab_api.py the JSON

One thread owns the model (lab_run.Run). It trains in chunks of CHUNK_S seconds; between chunks it runs
the commands the HTTP threads queued (pause, beta, step, fork, save, ...) and, every FRAME_S seconds,
measures a frame (lab_frames.py) and publishes it as JSON bytes (less often if frames would take more
than FRAME_SHARE of the thread's CPU: drawing must not starve training). GET /api/lab/state returns the newest
frame at once: a frame replaces the one before, nothing queues, and the HTTP side never touches the
model. Exact inference works on a copy of the weights, outside the training thread, so training goes on.

One run per lab (and one lab per server): start() while a run exists is refused (409); reset() begins
again from step 0 with the same seed (so the same start) or new settings. close() ends the thread.
"""
import json
import threading
import time
from pathlib import Path

import numpy as np

from .. import checkpoint, plots
from . import lab_frames as frames
from .lab_run import BATCH, DEFAULTS, PRESETS, Data, Fork, Run, clone

CHUNK_S = 0.05           # seconds of training between two looks at the command queue
FRAME_S = 0.3            # seconds between frames: the page updates about 3 times a second, unless
FRAME_SHARE = 0.1        # ... frames would take more than this share of the training thread's CPU time
FORK_STEPS = 469         # steps of a fork unless told: one epoch of MNIST


class LabError(Exception):
    """A request the lab refuses: an HTTP status (400, 409) and one line saying why."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Lab:
    """The lab of one server: at most one run, one training thread, the newest frame."""

    def __init__(self, out="runs/lab", data=None):
        self.out = Path(out)                                # where "save" writes checkpoint.npz
        self._data, self.run, self.frame_count = data, None, 0
        self._cv = threading.Condition()                    # guards the command queue, run and _closing
        self._commands, self._closing, self._thread = [], False, None
        self._start_lock = threading.Lock()
        self.cpu_seconds = self.frame_cpu_seconds = self._last_frame_cpu = self._train_cpu = 0.0
        self.frame = json.dumps(self._idle_frame()).encode()

    @property
    def data(self):
        if self._data is None:
            self._data = Data()
        return self._data

    # ---- what the page reads ---------------------------------------------------------------------

    def info(self):
        """Everything drawn once: defaults, presets, the held-out digits, the manifold's axes."""
        d = self.data
        lo, hi = plots.manifold_extent()
        return {"defaults": DEFAULTS, "presets": PRESETS, "batch_size": BATCH, "frame_seconds": FRAME_S,
                "held_out": {"labels": d.y_held.tolist(), "pixels": frames.pixels(d.x_held)},
                "reconstructed": d.shown.tolist(),
                "manifold": {"n": frames.MANIFOLD_N, "lo": lo, "hi": hi},
                "units": "nats per image: the Bernoulli formula on grey-level pixels, a cross-entropy (a score of "
                         "the model), not the log-probability of an image, which only binary pixels would give"}

    def _idle_frame(self):
        return {"status": "none", "running": False, "step": 0, "epoch": 0, "images_per_second": 0.0,
                "images_trained": 0, "seconds_trained": 0.0, "settings": DEFAULTS, "beta_now": DEFAULTS["beta"],
                "curves": frames.Curves().to_json(), "events": [], "codes": {"xy": [], "std": [], "labels": []},
                "fork": None, "message": "", "frame": 0}

    def _publish(self):
        """Measure the run and replace the frame (training thread, or before the thread starts)."""
        cpu = time.thread_time()
        run, d = self.run, self.data
        seed = run.settings["seed"]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            test, mu, std = frames.held_out_figures(run.model, d.x_held, run.beta_now(), seed)
            run.curves.add_point(run.step, run.epoch_float(), run.beta_now(), run.opt.lr, test)
            images = frames.pictures(run.model, d.x_held[d.shown])
            if run.fork is not None:
                run.fork.measure(d, seed)
        now = time.perf_counter()
        recent = [(t, n) for t, n in run.rate if now - t < 3.0]
        ips = (recent[-1][1] - recent[0][1]) / (recent[-1][0] - recent[0][0]) \
            if run.status == "running" and len(recent) > 1 and recent[-1][0] > recent[0][0] else 0.0
        self.frame_count += 1
        frame = {"status": run.status, "running": run.status == "running", "step": run.step,
                 "epoch": frames.finite(run.epoch_float()), "images_per_second": round(ips, 1),
                 "images_trained": run.images, "seconds_trained": round(run.seconds, 3),
                 "settings": {**run.settings, "beta": run.model.config.beta, "lr": run.opt.lr},
                 "beta_now": run.beta_now(), "curves": run.curves.to_json(), "events": run.events,
                 "codes": {"xy": frames.rounded(mu), "std": frames.rounded(std), "labels": d.y_held.tolist()},
                 **images, "fork": None if run.fork is None else run.fork.to_json(),
                 "message": run.message, "frame": self.frame_count}
        self.frame = json.dumps(frame).encode()
        self._next_frame = time.perf_counter() + FRAME_S
        self._last_frame_cpu, self._train_cpu = time.thread_time() - cpu, 0.0
        self.frame_cpu_seconds += self._last_frame_cpu                      # what frames cost (the benchmark's)

    # ---- the training thread ---------------------------------------------------------------------

    def _loop(self):
        cpu0 = time.thread_time()
        while True:
            self.cpu_seconds = time.thread_time() - cpu0            # this thread's CPU time (the benchmark's)
            with self._cv:
                while not self._commands and not self._closing and self.run.status != "running":
                    self._cv.wait()
                if self._closing:
                    for _, box, done in self._commands:
                        box["error"] = LabError(503, "the server is shutting down")
                        done.set()
                    return
                commands, self._commands = self._commands, []
            for fn, box, done in commands:
                try:
                    box["value"] = fn()
                except Exception as err:                      # handed to the waiting request
                    box["error"] = err
                done.set()
            if self.run.status == "running":
                self._train_chunk()
                if self.run.status != "running" or self._frame_due():
                    self._publish()

    def _frame_due(self):
        """FRAME_S since the last frame, and enough training since it that frames stay under FRAME_SHARE of
        the thread's CPU (on a machine busy with other work the thread gets less CPU per wall second)."""
        return time.perf_counter() >= self._next_frame and \
            self._train_cpu >= self._last_frame_cpu * (1 - FRAME_SHARE) / FRAME_SHARE

    def _train_chunk(self):
        run = self.run
        cpu = time.thread_time()
        t0 = time.perf_counter()
        end = t0 + CHUNK_S
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            while time.perf_counter() < end and run.status == "running":
                if not run.train_step():
                    break
                if run.fork is not None and run.fork.done and not run.fork.announced:
                    run.fork.announced, run.status = True, "paused"
                    run.mark("fork done", run.fork.betas)
        t1 = time.perf_counter()
        run.seconds += t1 - t0
        run.rate.append((t1, run.images))
        self._train_cpu += time.thread_time() - cpu

    def _call(self, fn, timeout=10.0):
        """Run fn() on the training thread between two chunks and return its value (or raise its error)."""
        box, done = {}, threading.Event()
        with self._cv:
            if self.run is None:
                raise LabError(409, "no run yet: POST /api/lab/start first")
            if self._thread is None or self._closing:
                raise LabError(503, "the lab's training thread has ended")
            self._commands.append((fn, box, done))
            self._cv.notify_all()
        if not done.wait(timeout):
            raise LabError(503, f"the training thread did not answer within {timeout:g} s")
        if "error" in box:
            raise box["error"]
        return box["value"]

    def close(self, timeout=5.0):
        """End the training thread (the server calls this when it shuts down)."""
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    # ---- the controls (each answers a POST of lab_api.py; values arrive checked) -------------------

    def start(self, settings):
        """Build the run from DEFAULTS updated by `settings` and train it in a new thread."""
        with self._start_lock:
            if self.run is not None:
                raise LabError(409, f"a run exists ({self.run.status} at step {self.run.step}); one run per "
                                    "server: POST /api/lab/reset to begin again, with new settings if you like")
            if self._closing:
                raise LabError(503, "the server is shutting down")
            run = Run({**DEFAULTS, **settings}, self.data)
            with self._cv:
                self.run, run.status = run, "running"
                self._publish()
                self._last_frame_cpu = 0.0              # the first frame pays one-time costs: do not space by it
                self._thread = threading.Thread(target=self._loop, name="scratchvae-lab", daemon=True)
                self._thread.start()
        return self.state()

    def state(self):
        return json.loads(self.frame)

    def pause(self):
        def fn():
            if self.run.status == "running":
                self.run.status = "paused"
                self._publish()
            return self._summary()
        return self._call(fn)

    def resume(self):
        def fn():
            run = self._live_run()
            run.status = "running"
            run.rate.clear()                                        # images per second: from now on
            self._publish()
            return self._summary()
        return self._call(fn)

    def reset(self, settings):
        """Step 0 again, paused: the same settings (so the same start), or these changed."""
        def fn():
            old = self.run.settings
            self.run = Run({**old, **settings}, self.data)
            self._publish()
            return self._summary()
        return self._call(fn)

    def set_beta(self, beta):
        def fn():
            self.run.model.config.beta = beta
            self.run.mark("beta", beta)
            self._publish()
            return self._summary()
        return self._call(fn)

    def set_lr(self, lr):
        def fn():
            self.run.opt.lr = lr
            self.run.mark("lr", lr)
            self._publish()
            return self._summary()
        return self._call(fn)

    def step(self, digits):
        """Pause, run one minibatch, and return the pulls on the chosen held-out digits' mu before it."""
        def fn():
            run = self._live_run()
            if run.fork is not None and not run.fork.done:           # a step of the run ends a fork midway
                run.fork = None
                run.mark("fork ended", None)
            run.status = "paused"
            beta = run.model.beta_at(run.step + 1)                  # the weight this step will use
            twin = clone(run.model) if digits else None
            run.train_step()
            self._publish()
            answer = self._summary()
            if twin is not None:
                mu, rec, kl = frames.forces(twin, self.data.x_held[digits], beta, seed=run.step)
                answer["forces"] = [{"index": int(i), "mu": m.tolist(), "reconstruction": r.tolist(), "kl": k.tolist()}
                                    for i, m, r, k in zip(digits, mu, rec, kl)]
            else:
                answer["forces"] = []
            answer["beta"] = beta
            return answer
        return self._call(fn)

    def exact(self, index):
        """Exact inference for held-out digit `index` on a copy of the weights, off the training thread."""
        def fn():
            if self.run.status == "diverged":
                raise LabError(409, f"the run diverged at step {self.run.step}: its weights hold NaN or inf")
            return clone(self.run.model), self.run.step
        twin, step = self._call(fn)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            answer = frames.exact(twin, self.data.x_held[index])
        return {"index": index, "label": int(self.data.y_held[index]), "step": step, **answer}

    def decode(self, z):
        """The mean image of p(x|z) under the current weights, for a point clicked on the codes' plane."""
        def fn():
            image = self.run.model.decode(np.asarray([z], dtype=self.run.model.dtype))
            return {"z": [float(v) for v in np.float32(z)], "step": self.run.step, "image": frames.pixels(image)}
        return self._call(fn)

    def fork(self, betas, steps):
        def fn():
            run = self._live_run()
            run.fork = Fork(run, betas, steps)
            run.mark("fork", list(betas))
            run.status = "running"
            self._publish()
            return self._summary()
        return self._call(fn)

    def save(self):
        """Write OUT/checkpoint.npz (checkpoint.save: whole or not at all); the explorer loads it."""
        def fn():
            run = self.run
            path = self.out / "checkpoint.npz"
            checkpoint.save(path, run.model, run.opt,
                            {"epoch": max(0, run.epoch - (run.position < run.steps_per_epoch)), "step": run.step,
                             "seed": run.settings["seed"], "batch_size": BATCH, "binarize": "none",
                             "n_train": len(self.data.x_train), "history": [], "lab": run.settings})
            return {**self._summary(), "path": str(path),
                    "explore": f"python -m scratchvae.explore --checkpoint {path}"}
        return self._call(fn)

    def _live_run(self):
        """The run, unless it diverged: resuming, stepping or forking it would only carry its NaN on (409)."""
        run = self.run
        if run.status == "diverged":
            raise LabError(409, f"the run diverged at step {run.step}; POST /api/lab/reset to begin again")
        return run

    def _summary(self):
        run = self.run
        return {"status": run.status, "running": run.status == "running", "step": run.step,
                "beta": run.model.config.beta, "lr": run.opt.lr, "settings": run.settings}
