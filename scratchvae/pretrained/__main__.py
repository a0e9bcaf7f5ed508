"""python -m scratchvae.pretrained list | ship NAME RUN_FOLDER --command "..."

    list   each shipped model: name, architecture, test negative ELBO (all 10,000 test images)
    ship   (maintainers) copy a demo run's checkpoint into the package without its optimizer state,
           measure its figures and record them, the command and the SHA-256 in manifest.json
"""
import json
import sys
from pathlib import Path

from .. import checkpoint, cli, pretrained
from ..data import load_mnist


def list_models():
    models = pretrained.manifest()
    if not models:
        print("no models are shipped in this installation")
        return 0
    width = max(map(len, models))
    print(f"{'name':<{width}}  {'architecture':<24}  test -ELBO (10,000 images)   log p(x) >=")
    for name, e in sorted(models.items()):
        ll = f"{e['test_log_likelihood']:.2f} (K={e['iwae_k']}, {e['iwae_images']} images)" \
            if "test_log_likelihood" in e else "-"
        print(f"{name:<{width}}  {pretrained.architecture(e):<24}  {e['test_neg_elbo']:.2f} nats{'':<16} {ll}")
    print("explore one: python -m scratchvae.explore --model NAME")
    return 0


def ship(name, run, command):
    """Write pretrained/NAME.npz from RUN/checkpoint.npz and record it in the manifest."""
    source = Path(run) / "checkpoint.npz"
    model, _, state = checkpoint.load(source)
    if model.kind not in ("vae", "cvae"):
        raise cli.UsageError(f"{source} holds a {model.kind}; only VAEs and CVAEs are shipped")
    target = pretrained.FOLDER / f"{name}.npz"
    kept = {k: state[k] for k in ("epoch", "step", "seed", "batch_size", "binarize", "n_train") if k in state}
    checkpoint.save(target, model, optimizer=None, train_state=kept)           # no Adam moments: 1/3 the size
    model.eval()
    x_test, y_test = load_mnist("test")
    e = {"file": target.name, "model": model.config_dict(), "command": command,
         "test_neg_elbo": round(pretrained.figure(model, x_test, y_test), 3),
         "subset": {"images": pretrained.SUBSET,
                    "test_neg_elbo": round(pretrained.figure(model, x_test[:pretrained.SUBSET],
                                                             y_test[:pretrained.SUBSET]), 3)},
         "epochs": state.get("epoch")}
    metrics = Path(run) / "metrics.json"
    if metrics.is_file():
        last = json.loads(metrics.read_text())[-1]
        e["demo_test_loss"] = round(last["test_loss"], 3)                      # should equal test_neg_elbo
        e["train_seconds"] = round(sum(r["seconds"] for r in json.loads(metrics.read_text())), 1)
        for key in ("test_log_likelihood", "iwae_k", "iwae_images"):
            if key in last:
                e[key] = round(last[key], 3) if key == "test_log_likelihood" else last[key]
    e.update(sha256=pretrained.sha256(target), bytes=target.stat().st_size)
    models = pretrained.manifest()
    models[name] = e
    cli.write_text(pretrained.MANIFEST, json.dumps(models, indent=1) + "\n")
    print(f"shipped {name}: {pretrained.architecture(e)}, test -ELBO {e['test_neg_elbo']:.3f} "
          f"(demo printed {e.get('demo_test_loss')}), {e['bytes']:,} bytes, sha256 {e['sha256'][:16]}...")
    return 0


def main(argv=None):
    p = cli.ArgumentParser(prog="python -m scratchvae.pretrained", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="name, architecture and figure of each shipped model")
    s = sub.add_parser("ship", help="(maintainers) add a demo run's checkpoint to the shipped models")
    s.add_argument("name", help="the model's name, e.g. vae-2")
    s.add_argument("run", help="the demo's --out folder (holding checkpoint.npz and metrics.json)")
    s.add_argument("--command", required=True, help="the exact command that trained it")
    args = p.parse_args(argv)
    if args.command == "list":
        return list_models()
    return ship(args.name, args.run, args.command)


if __name__ == "__main__":
    sys.exit(cli.run_main("python -m scratchvae.pretrained", main))
