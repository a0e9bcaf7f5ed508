"""Trained models that ship with the package, so a first look costs no training run.

Each is a checkpoint in the project's own format (scratchvae/checkpoint.py: float32 parameters and a
JSON meta, no optimizer state) written from a run of demos/mnist_vae.py. manifest.json, beside the
files, records for each model:

    file, sha256, bytes     the checkpoint and its SHA-256 (checked before every load)
    command                 the exact demo command that trained it (seed 0: it reproduces on the CPU)
    test_neg_elbo           its test negative ELBO, nats per image, on all 10,000 MNIST test images
                            (train.evaluate: noise off, one z = mu + std * eps per image, eps from
                            the evaluation stream of seed 0, as the demo's last "test" figure)
    subset                  the same figure on the first n test images, which the test suite recomputes

    python -m scratchvae.pretrained list          name, architecture and figure of each
    model = scratchvae.pretrained.load("vae-2")   a VAE, ready to encode and decode
    python -m scratchvae.explore --model vae-2    look at it in the browser

Adding one (maintainers): train with the demo, then
    python -m scratchvae.pretrained ship NAME RUN_FOLDER --command "the command you ran"
"""
import hashlib
import json
from importlib import resources
from pathlib import Path

import numpy as np

from .. import checkpoint
from ..checkpoint import CheckpointError
from ..models import cvae
from ..train import evaluate

FOLDER = Path(str(resources.files(__package__)))
MANIFEST = FOLDER / "manifest.json"
SUBSET = 1000                    # test images of the figure the test suite recomputes


def manifest():
    """{name: entry} from manifest.json (an empty dict before any model is shipped), every entry checked:
    a file cut off mid-write, a list instead of an object, or an entry without its file, its sha256 or its
    figures is a CheckpointError naming the file, the entry and the field (never a KeyError later)."""
    if not MANIFEST.is_file():
        return {}
    try:
        models = json.loads(MANIFEST.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{MANIFEST} is not valid JSON (cut off mid-write?): {str(err).splitlines()[0][:100]}; "
                              "reinstall scratchvae") from None
    if not isinstance(models, dict):
        raise CheckpointError(f"{MANIFEST} must hold a JSON object of models by name, got a "
                              f"{type(models).__name__}; reinstall scratchvae")
    for name, e in models.items():
        problem = _entry_problem(e)
        if problem:
            raise CheckpointError(f"{MANIFEST}: the entry {name!r} {problem}; reinstall scratchvae")
    return models


REQUIRED = {"file": str, "sha256": str, "model": dict, "test_neg_elbo": (int, float)}
MODEL_FIELDS = ("kind", "n_in", "hidden", "latent")


def _entry_problem(e):
    """What is wrong with one manifest entry, in words (None if nothing)."""
    if not isinstance(e, dict):
        return f"must be a JSON object, got {type(e).__name__}"
    for key, kind in REQUIRED.items():
        if key not in e:
            return f"has no {key!r}"
        if isinstance(e[key], bool) or not isinstance(e[key], kind):
            return f"field {key!r} has the wrong type ({type(e[key]).__name__})"
    if len(e["sha256"]) != 64 or any(c not in "0123456789abcdef" for c in e["sha256"]):
        return f"field 'sha256' must be 64 hexadecimal digits, got {e['sha256'][:70]!r}"
    if Path(e["file"]).name != e["file"] or not e["file"].endswith(".npz"):
        return f"field 'file' must be a .npz file name in the package's folder, got {e['file'][:70]!r}"
    missing = [key for key in MODEL_FIELDS if key not in e["model"]]
    if missing:
        return f"field 'model' has no {missing}"
    return None


def names():
    return sorted(manifest())


def entry(name):
    """The manifest entry of one model; CheckpointError naming the shipped ones if there is none."""
    models = manifest()
    if name not in models:
        raise CheckpointError(f"no shipped model named {name!r}; the shipped models are {sorted(models)} "
                              "(python -m scratchvae.pretrained list)")
    return models[name]


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def path(name):
    """The checkpoint file of a shipped model, after checking its SHA-256 against the manifest."""
    e = entry(name)
    file = FOLDER / e["file"]
    if not file.is_file():
        raise CheckpointError(f"{file}: the shipped model {name!r} is missing from the installed package")
    found = sha256(file)
    if found != e["sha256"]:
        raise CheckpointError(f"{file}: SHA-256 {found[:16]}... does not match the manifest's {e['sha256'][:16]}...; "
                              "the file is corrupt or was changed (reinstall scratchvae)")
    return file


def load(name):
    """A shipped model, rebuilt from its checkpoint (hash checked): a VAE or CVAE in eval mode."""
    model, _, _ = checkpoint.load(path(name))
    return model.eval()


def test_rows(model, x, labels):
    """The rows the model evaluates: x, or pack(x, labels) for the conditional VAE."""
    return cvae.pack(x, labels) if model.kind == "cvae" else x


def figure(model, x, labels, seed=0):
    """Test negative ELBO in nats per image (train.evaluate: the demo's 'test' figure, same eps stream)."""
    return evaluate(model, np.asarray(test_rows(model, x, labels)), seed=seed)["neg_elbo"]


def architecture(config_or_entry):
    """'784-400-20-400-784 vae' from a manifest entry's model config."""
    c = config_or_entry["model"] if "model" in config_or_entry else config_or_entry
    n_in = c["n_in"] + c.get("n_classes", 0) if c["kind"] == "cvae" else c["n_in"]
    sizes = [n_in, *c["hidden"], c["latent"], *c["hidden"][::-1], c["n_in"]]
    return f"{'-'.join(map(str, sizes))} {c['kind']}"
