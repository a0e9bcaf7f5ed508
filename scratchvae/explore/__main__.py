"""python -m scratchvae.explore [--checkpoint PATH | --model NAME] [--port N] [--no-browser] [--lab]

Steps: 1. read the flags  2. load the model (a checkpoint of demos/mnist_vae.py, or a shipped one)
3. encode the map's test digits  4. serve the page on 127.0.0.1 until Ctrl-C.

The same server holds the VAE lab (lab.py) at /lab: --lab opens that page instead of the explorer's.
The lab's benchmark is python -m scratchvae.bench --recipe lab (bench/lab.py).
"""
import sys
import webbrowser

from .. import checkpoint, cli, pretrained
from ..data import load_mnist
from .lab import Lab
from .lab_api import Routes
from .latent_space import LatentSpace, unsupported_reason
from .server import ExploreServer

DEFAULT_MODEL = "vae-2"


def parse_args(argv=None):
    p = cli.ArgumentParser(prog="python -m scratchvae.explore",
                           description="Explore a VAE's latent space in the browser; every number comes from "
                                       "scratchvae's forward pass on this machine.")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--checkpoint", default=None, help="a checkpoint.npz written by demos/mnist_vae.py")
    which.add_argument("--model", default=None,
                       help=f"a shipped model (python -m scratchvae.pretrained list); default {DEFAULT_MODEL}")
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free port)")
    p.add_argument("--points", type=int, default=3000, help="test digits drawn on the latent map")
    p.add_argument("--no-browser", action="store_true", help="print the address only; do not open a browser")
    p.add_argument("--verbose", action="store_true", help="log every request")
    p.add_argument("--lab", action="store_true", help="open the VAE lab (/lab): train a 2-D VAE live in the page")
    p.add_argument("--lab-out", default="runs/lab", help="folder where the lab's save button writes checkpoint.npz")
    p.add_argument("--latency", type=int, default=0, metavar="N",
                   help="measure instead of serving: time N pointer requests (/api/point) and exit")
    args = p.parse_args(argv)
    if args.checkpoint is not None and not args.checkpoint.strip():
        raise cli.UsageError("--checkpoint must name a checkpoint file, got ''")
    if args.model is not None and not args.model.strip():
        raise cli.UsageError("--model must name a shipped model, got '' (python -m scratchvae.pretrained list "
                             "names them)")
    if not 0 <= args.port <= 65535:
        p.error(f"--port must be a port number from 0 to 65535, got {args.port}")
    if not 10 <= args.points <= 10000:
        p.error(f"--points must be from 10 to 10000 (the MNIST test set), got {args.points}")
    if args.latency < 0:
        p.error(f"--latency must be a number of requests >= 1 (0: serve), got {args.latency}")
    return args


def measure(server, n):
    """Time n /api/point requests from a client on this machine, each on a fresh connection as the
    page's fetch() may use; the server runs in a thread of this process. Prints milliseconds."""
    import http.client
    import json
    import threading
    import time

    import numpy as np

    threading.Thread(target=server.serve_forever, daemon=True).start()
    space, rng = server.space, np.random.default_rng(0)
    z = space.mu[0].tolist()
    lo, hi = space.xy.min(axis=0), space.xy.max(axis=0)
    times = []
    for _ in range(n):
        body = json.dumps({"xy": rng.uniform(lo, hi).tolist(), "z": z, **({"label": 0} if space.conditional else {})})
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("POST", "/api/point", body, {"Content-Type": "application/json"})
        answer = json.loads(conn.getresponse().read())
        conn.close()
        times.append(time.perf_counter() - t0)
        z = answer["z"]
    server.shutdown()
    ms = 1000 * np.array(times)
    print(f"/api/point (pointer -> z -> decoded digit), {n} requests: median {np.median(ms):.2f} ms, "
          f"95th percentile {np.percentile(ms, 95):.2f} ms, max {ms.max():.2f} ms")
    return 0


def load_model(args):
    """(model, its name): the checkpoint named on the command line, or a shipped model (hash checked)."""
    if args.checkpoint is not None:
        source, name = args.checkpoint, args.checkpoint
    else:
        name = args.model or DEFAULT_MODEL
        source = pretrained.path(name)
    model, _, _ = checkpoint.load(source)
    reason = unsupported_reason(model)
    if reason:
        raise cli.UsageError(f"{source} cannot be explored: {reason}")
    if model.config.n_in != 784:
        raise cli.UsageError(f"{source}: the model reads {model.config.n_in} pixels per image; the explorer's "
                             "map is drawn from MNIST's 28x28 test digits")
    return model.eval(), name


def main(argv=None):
    args = parse_args(argv)                                                        # 1.
    model, name = load_model(args)                                                 # 2.
    x_test, y_test = load_mnist("test")
    space = LatentSpace(model, x_test[:args.points], y_test[:args.points], name)   # 3.
    try:
        server = ExploreServer(space, args.port, args.verbose, Routes(Lab(args.lab_out)))   # 4.
    except OSError as err:
        raise cli.UsageError(f"--port {args.port}: cannot listen on 127.0.0.1:{args.port} "
                             f"({err.strerror or err}); choose another --port (0 picks a free one)") from None
    if args.latency:
        return measure(server, args.latency)
    url = server.url + ("lab" if args.lab else "")
    if args.lab:
        print(f"the VAE lab at {url} (the explorer of {name} at {server.url}); saves go to {args.lab_out}  "
              "(Ctrl-C stops)", flush=True)
    else:
        print(f"exploring {name} ({model.kind}, J = {model.config.latent}) at {url}  (Ctrl-C stops)", flush=True)
    if not args.no_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main("python -m scratchvae.explore", main))
