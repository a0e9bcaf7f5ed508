"""The lab's JSON API: each path, the fields it takes, and the checks on them (lab.py does the work).

    GET  /lab, /lab.js, /lab.css        the page (static/); its /common.js is the explorer's (server.STATIC)
    GET  /api/lab/info                  defaults, presets, the held-out digits, the manifold's axes
    GET  /api/lab/state                 the newest frame: {"running", "step", "epoch", "images_per_second",
                                        "curves": {"step", "train_neg_elbo", "test_neg_elbo", "rate",
                                        "distortion", ...}, "codes": {"xy", "labels", "std"}, ...}
    POST /api/lab/start  {"beta", "lr", "hidden", "seed", "warmup"}  any may be left out (lab.DEFAULTS)
    POST /api/lab/pause  /resume  /save  {}
    POST /api/lab/reset  {the start's fields, any}   step 0 again, paused; left-out fields keep the run's
    POST /api/lab/beta   {"beta"}       POST /api/lab/lr {"lr"}
    POST /api/lab/step   {"digits": [held-out indices], optional}  one minibatch, and the pulls on each mu
    POST /api/lab/exact  {"index"}      exact inference for a held-out digit (up to about 2 s)
    POST /api/lab/decode {"z": [z1, z2]}   the mean image of p(x|z) now
    POST /api/lab/fork   {"betas": [a, b], "steps"}    two branches differing only in beta

Refusals, as the explorer's (server.RequestError -> one line of JSON): 400 for a field that is missing,
unknown or out of range (beta must be a finite number >= 0), 409 for a start while a run exists (running
or paused) or a control before any start, 405 for the wrong method, 404 for an unknown path.
"""
import json
import math
from importlib import resources

from . import server as http
from .lab import FORK_STEPS, Lab, LabError

STATIC = {"/lab": ("lab.html", "text/html; charset=utf-8"), "/lab.html": ("lab.html", "text/html; charset=utf-8"),
          "/lab.js": ("lab.js", "text/javascript; charset=utf-8"), "/lab.css": ("lab.css", "text/css; charset=utf-8")}
LIMITS = {"beta": (0.0, 1000.0), "lr": (1e-7, 1.0), "hidden": (2, 2048), "seed": (0, 2**31 - 1),
          "warmup": (0, 10**6), "steps": (1, 20000)}
SETTINGS = ("beta", "lr", "hidden", "seed", "warmup")
MAX_DIGITS = 10                   # digits whose pulls one step returns
POSTS = ("start", "pause", "resume", "reset", "beta", "lr", "step", "exact", "decode", "fork", "save")


def number(body, key):
    """body[key] as a finite float within LIMITS[key] (beta: from 0; lr: above 0), else a 400 naming it."""
    low, high = LIMITS[key]
    v = body.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not low <= v <= high:
        what = "a finite number >= 0" if key == "beta" else "a positive finite number"
        raise http.RequestError(400, f"field {key!r} must be {what}, at most {high:g}, got {v!r}")
    return float(v)


def only(body, allowed, required=()):
    """Refuse unknown and missing fields, naming both."""
    unknown, missing = sorted(set(body) - set(allowed)), sorted(set(required) - set(body))
    if unknown or missing:
        raise http.RequestError(400, f"expected the fields {sorted(allowed)}; missing {missing}, unknown {unknown}")


def settings(body):
    """The start / reset fields present in body, checked."""
    only(body, SETTINGS)
    out = {}
    for key in ("beta", "lr"):
        if key in body:
            out[key] = number(body, key)
    for key in ("hidden", "seed", "warmup"):
        if key in body:
            out[key] = http.integer(body, key, *LIMITS[key])
    return out


class Routes:
    """The lab as server.ExploreServer(lab=...) calls it: which paths are the lab's, and their answers
    as (status, content type, bytes). server.py never imports this module (no import circle)."""

    def __init__(self, session=None):
        self.session = session if session is not None else Lab()

    def handles(self, path):
        return path.startswith("/api/lab/") or path in STATIC

    def get(self, path):
        if path in STATIC:
            name, content_type = STATIC[path]
            return 200, content_type, resources.files(__package__).joinpath("static", name).read_bytes()
        return 200, "application/json", get(self.session, path)

    def post(self, path, body):
        if path in STATIC:
            raise http.RequestError(405, f"POST {path} is not served: it is a page")
        return 200, "application/json", post(self.session, path, body)

    def close(self):
        self.session.close()


def get(lab, path):
    """A GET under /api/lab/: the JSON bytes."""
    if path == "/api/lab/state":
        return lab.frame
    if path == "/api/lab/info":
        return json.dumps(lab.info()).encode()
    if path.removeprefix("/api/lab/") in POSTS:
        raise http.RequestError(405, f"GET {path} is not served: it changes the run, so it is a POST")
    raise http.RequestError(404, f"no such lab path {path[:80]!r}; GET /api/lab/state or /api/lab/info")


def post(lab, path, body):
    """A POST under /api/lab/ with its parsed JSON object: the JSON bytes of the answer."""
    name = path.removeprefix("/api/lab/")
    if name in ("state", "info"):
        raise http.RequestError(405, f"POST {path} is not served: it only reads, so it is a GET")
    if name not in POSTS:
        raise http.RequestError(404, f"no such lab path {path[:80]!r}; the lab's POSTs are "
                                     + ", ".join(f"/api/lab/{p}" for p in POSTS))
    try:
        return json.dumps(_answer(lab, name, body)).encode()
    except LabError as err:
        raise http.RequestError(err.status, str(err)) from None
    except http.RequestError:
        raise
    except Exception as err:              # a failure of the lab itself: still one line of JSON, not a dropped socket
        first = (str(err).splitlines() or [""])[0][:200]
        raise http.RequestError(500, f"the lab could not answer {path}: {type(err).__name__}: {first}") from None


def _answer(lab, name, body):
    if name == "start":
        return lab.start(settings(body))
    if name == "reset":
        return lab.reset(settings(body))
    if name in ("pause", "resume", "save"):
        only(body, ())
        return getattr(lab, name)()
    if name in ("beta", "lr"):
        only(body, (name,), (name,))
        return (lab.set_beta if name == "beta" else lab.set_lr)(number(body, name))
    n_held = len(lab.data.y_held)
    if name == "step":
        only(body, ("digits",))
        digits = body.get("digits", [])
        if not isinstance(digits, list) or len(digits) > MAX_DIGITS:
            raise http.RequestError(400, f"field 'digits' must be a list of at most {MAX_DIGITS} held-out indices, "
                                         f"got {str(digits)[:60]}")
        return lab.step([http.integer({"digits": d}, "digits", 0, n_held - 1) for d in digits])
    if name == "decode":
        only(body, ("z",), ("z",))
        return lab.decode(http.numbers(body, "z", 2, -http.Z_LIMIT, http.Z_LIMIT))
    if name == "exact":
        only(body, ("index",), ("index",))
        return lab.exact(http.integer(body, "index", 0, n_held - 1))
    only(body, ("betas", "steps"), ("betas",))                                   # fork
    betas = body["betas"]
    if not isinstance(betas, list) or len(betas) != 2:
        raise http.RequestError(400, f"field 'betas' must be a list of two betas, got {str(betas)[:60]}")
    betas = [number({"beta": b}, "beta") for b in betas]
    steps = http.integer(body, "steps", *LIMITS["steps"]) if "steps" in body else FORK_STEPS
    return lab.fork(betas, steps)
