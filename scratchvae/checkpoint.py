"""Checkpoints: a model, its optimizer state and the run's progress in one .npz file, no pickle.

Layout of the archive (np.savez, read back with np.load(..., allow_pickle=False)):

    param/<name>        every parameter, e.g. param/encoder.0.W  (784, 400)
    optim/<key>/<name>  the optimizer's buffers, e.g. optim/m/encoder.0.W (Adam's first moment)
    meta                one JSON string: the model's config (to rebuild the architecture), the
                        optimizer's class, hyperparameters and step count, the training state
                        (epochs done, global step, seed, batch size, history)

Written whole or not at all: the archive goes to a temporary file in the same folder
(.NAME.PID.tmp), is flushed to disk, and only then renamed over the target (os.replace is atomic
on one file system), so a crash mid-write leaves the previous checkpoint untouched. A write that
fails (a full disk, a file-size limit) removes its temporary file and raises CheckpointError; one
left by a killed process is removed by the next save or load of that checkpoint.

Reading checks the schema before building anything, and every error names the file and the field:
meta must be a JSON object with exactly the fields below, the model config must fit its class,
the dtype must be float32 or float64, the optimizer (when present) a known class with its fields.
"""
import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from . import backend
from .errors import UserError
from .fast import Adam as FusedAdam
from .models.autoencoder import AEConfig, Autoencoder
from .models.cvae import CVAE, CVAEConfig
from .models.deep import DeepVAE, DeepVAEConfig
from .models.vae import VAE, VAEConfig
from .nn import optim

FORMAT = "scratchvae-checkpoint"
VERSION = 1
MODELS = {"vae": (VAE, VAEConfig), "autoencoder": (Autoencoder, AEConfig), "cvae": (CVAE, CVAEConfig),
          "deep_vae": (DeepVAE, DeepVAEConfig)}
OPTIMIZERS = {"Adam": FusedAdam, "SGD": optim.SGD}   # load() resumes with the fused Adam: same state as optim.Adam


META_FIELDS = {"format", "version", "model", "dtype", "train", "optimizer"}
DTYPES = ("float32", "float64")
OPTIMIZER_FIELDS = {"Adam": {"class", "lr", "betas", "eps", "t"}, "SGD": {"class", "lr", "momentum", "t"}}


class CheckpointError(UserError, ValueError):
    """A checkpoint is missing, corrupt, or does not fit the model it is loaded into."""


def _stale_temporaries(path):
    """Temporary files .NAME.PID.tmp beside `path` whose writing process is gone (killed mid-write)."""
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)\.tmp$")
    stale = []
    if not path.parent.is_dir():
        return stale
    for f in path.parent.iterdir():
        m = pattern.match(f.name)
        if m is None or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)                  # signal 0: does that process still exist?
        except ProcessLookupError:
            stale.append(f)
        except (PermissionError, OverflowError):
            pass                                         # alive under another user (or not a pid): leave it
    return stale


def _clean_temporaries(path):
    for f in _stale_temporaries(path):
        try:
            f.unlink()
        except OSError:
            pass


def _optimizer_meta(opt):
    if isinstance(opt, optim.Adam):                  # the textbook Adam and the fused one (a subclass)
        return {"class": "Adam", "lr": opt.lr, "betas": [opt.b1, opt.b2], "eps": opt.eps}
    return {"class": "SGD", "lr": opt.lr, "momentum": opt.momentum}


def save(path, model, optimizer=None, train_state=None):
    """Write model (+ optimizer, + a JSON-able dict of training state) to path atomically."""
    path = Path(path)
    arrays = {f"param/{name}": backend.to_host(p) for name, p, _ in model.parameters()}
    meta = {"format": FORMAT, "version": VERSION, "model": model.config_dict(),
            "dtype": np.dtype(model.dtype).name, "train": train_state or {}}
    if optimizer is not None:
        state = optimizer.state_dict()
        meta["optimizer"] = {**_optimizer_meta(optimizer), "t": state.pop("t")}
        arrays.update({f"optim/{key}": value for key, value in state.items()})
    arrays["meta"] = np.array(json.dumps(meta))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _clean_temporaries(path)
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:                               # full disk, file-size limit, read-only folder
        kept = "the previous checkpoint is unchanged" if path.is_file() else "no checkpoint was written"
        raise CheckpointError(f"{path}: could not write the checkpoint ({err.strerror or err}); "
                              f"{kept}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read(path):
    """(arrays dict, meta dict) from a checkpoint file, with clear errors for bad files."""
    path = Path(path)
    _clean_temporaries(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"PK\x03\x04":               # every .npz is a zip archive
                raise CheckpointError(f"{path}: not a readable .npz checkpoint (it does not start with a zip "
                                      "header; a .npy written by np.save, or another file renamed?)")
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        if isinstance(err, CheckpointError):
            raise
        raise CheckpointError(f"{path}: not a readable .npz checkpoint ({type(err).__name__}: {err})") from None
    if "meta" not in arrays:
        raise CheckpointError(f"{path}: no 'meta' entry; not a scratchvae checkpoint")
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: field 'meta' is not valid JSON ({err})") from None
    check_meta(path, meta)
    return arrays, meta


def check_meta(path, meta):
    """Validate a checkpoint's meta against the schema; CheckpointError names the file and the field."""
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: field 'meta' must be a JSON object, got a {type(meta).__name__}")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: field 'version' is {meta.get('version')!r}; this scratchvae reads "
                              f"version {VERSION}")
    unknown = sorted(set(meta) - META_FIELDS)
    if unknown:
        raise CheckpointError(f"{path}: unknown field(s) {unknown} in meta (expected only {sorted(META_FIELDS)})")
    for field in ("model", "dtype", "train"):
        if field not in meta:
            raise CheckpointError(f"{path}: meta lacks the field {field!r}")
    if not isinstance(meta["model"], dict) or meta["model"].get("kind") not in MODELS:
        got = meta["model"].get("kind") if isinstance(meta["model"], dict) else meta["model"]
        raise CheckpointError(f"{path}: field 'model' must be an object whose 'kind' is one of {sorted(MODELS)}, "
                              f"got {got!r}")
    if meta["dtype"] not in DTYPES:
        raise CheckpointError(f"{path}: field 'dtype' is {meta['dtype']!r}, expected one of {DTYPES}")
    if not isinstance(meta["train"], dict):
        raise CheckpointError(f"{path}: field 'train' must be a JSON object, got {type(meta['train']).__name__}")
    if "optimizer" in meta:
        o = meta["optimizer"]
        cls = o.get("class") if isinstance(o, dict) else None
        if cls not in OPTIMIZERS:
            raise CheckpointError(f"{path}: field 'optimizer.class' is {cls!r}, expected one of {sorted(OPTIMIZERS)}")
        if set(o) != OPTIMIZER_FIELDS[cls]:
            raise CheckpointError(f"{path}: field 'optimizer' of {cls} must have exactly the fields "
                                  f"{sorted(OPTIMIZER_FIELDS[cls])}, got {sorted(o)}")


def build_model(meta, path="checkpoint"):
    """A fresh model with the architecture recorded in a checkpoint's meta."""
    config = dict(meta["model"])
    kind = config.pop("kind", None)
    if kind not in MODELS:
        raise CheckpointError(f"{path}: model kind {kind!r} is unknown; expected one of {sorted(MODELS)}")
    model_cls, config_cls = MODELS[kind]
    try:
        return model_cls(config_cls(**config), dtype=np.dtype(meta.get("dtype", "float32")))
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: field 'model' does not describe a {model_cls.__name__} ({err})") from None


def load_into(path, model, optimizer=None, _contents=None):
    """Copy a checkpoint's parameters (and optimizer state) into an existing model. Returns meta.

    Every array is checked against the model before anything is copied, so a checkpoint of another
    architecture raises CheckpointError naming the array that does not fit and changes nothing.
    (_contents: the (arrays, meta) of read(path), when the caller has already read the file.)
    """
    arrays, meta = _contents if _contents is not None else read(path)
    params = {name: p for name, p, _ in model.parameters()}
    saved = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
    missing, extra = sorted(set(params) - set(saved)), sorted(set(saved) - set(params))
    if missing or extra:
        raise CheckpointError(f"{path}: checkpoint of another architecture (model {meta['model']}); "
                              f"parameters missing from it: {missing}, not in this model: {extra}")
    for name, p in params.items():
        if tuple(saved[name].shape) != tuple(p.shape):
            raise CheckpointError(f"{path}: array param/{name} has shape {tuple(saved[name].shape)} but "
                                  f"this model's {name} has shape {tuple(p.shape)} (checkpoint model: "
                                  f"{meta['model']})")
    for name, p in params.items():
        p[...] = backend.asarray(saved[name], dtype=p.dtype)
    if optimizer is not None and "optimizer" in meta:
        state = {k[len("optim/"):]: v for k, v in arrays.items() if k.startswith("optim/")}
        state["t"] = meta["optimizer"]["t"]
        try:
            optimizer.load_state_dict(state)
        except (KeyError, ValueError) as err:
            raise CheckpointError(f"{path}: optimizer state does not fit: {err}") from None
    return meta


def load(path):
    """(model, optimizer or None, train_state) rebuilt entirely from a checkpoint file."""
    contents = read(path)
    meta = contents[1]
    model = build_model(meta, path)
    optimizer = None
    if "optimizer" in meta:
        o = dict(meta["optimizer"])
        cls = OPTIMIZERS[o.pop("class")]
        o.pop("t")
        if "betas" in o:
            o["betas"] = tuple(o["betas"]) if isinstance(o["betas"], list) else o["betas"]
        try:
            optimizer = cls(list(model.parameters()), **o)
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{path}: field 'optimizer' does not describe an {cls.__name__} ({err})") from None
    load_into(path, model, optimizer, contents)
    return model, optimizer, meta.get("train", {})
