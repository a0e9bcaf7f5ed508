"""The explorer without a browser: the latent-space arithmetic, the JSON API, the refusals, the command."""
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scratchvae import backend, checkpoint, cli, plots, pretrained
from scratchvae.data import load_mnist
from scratchvae.explore import server
from scratchvae.explore.__main__ import main as explore_main
from scratchvae.explore.latent_space import ELBO_DRAWS, LatentSpace
from scratchvae.models.autoencoder import AEConfig, Autoencoder
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.nn.reparam import sample_eps

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "scratchvae" / "explore" / "static"                 # the page's files, as the server should serve them
N_MAP = 300


@pytest.fixture(scope="module")
def digits():
    x, y = load_mnist("test")
    return x[:N_MAP], y[:N_MAP].astype(np.int64)


@pytest.fixture(scope="module")
def space3(digits):
    """A small untrained VAE with J = 3: the map is a linear view, not the latent plane itself."""
    return LatentSpace(VAE(VAEConfig(hidden=(16,), latent=3, seed=1)), *digits, name="tiny")


@pytest.fixture(scope="module")
def served(digits):
    """The shipped 2-D VAE and 2-D CVAE, each served on a free port for the whole module."""
    servers = {name: server.start(LatentSpace(pretrained.load(name), *digits, name=name))
               for name in ("vae-2", "cvae-2")}
    yield servers
    for s in servers.values():
        s.shutdown()
        s.server_close()


def call(srv, method, path, body=None, headers=None):
    """(status, parsed JSON or bytes) of one request; body: a dict (sent as JSON) or raw bytes."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    kind = response.getheader("Content-Type", "")
    return response.status, json.loads(payload) if kind.startswith("application/json") else payload


def page_files(page):
    """The stylesheets and scripts a page loads (href=/src= of this server's .css and .js), in order."""
    return [name.decode() for name in re.findall(rb'(?:href|src)="(/[\w.-]+\.(?:css|js))"', page)]


# ---- the model side -------------------------------------------------------------------------------

def test_the_map_is_the_demos_linear_view(space3, digits):
    mu = space3.mu
    xy, names = plots.project_2d(mu, digits[1])
    np.testing.assert_allclose(space3.xy, xy, rtol=1e-12, atol=1e-12)
    assert tuple(space3.axes) == names
    assert np.all(np.diff(space3.kl[space3.order]) <= 0)               # sliders: largest KL first


def test_the_pointer_lifts_to_the_nearest_z_with_that_view(space3):
    z0 = np.array([0.3, -1.2, 0.7])
    p = space3.view(z0) + np.array([0.05, -0.02])
    z = np.array(space3.point(p, z0)["z"], dtype=np.float64)
    np.testing.assert_allclose(space3.view(z), p, atol=1e-5)            # drawn where the pointer is
    step = z - z0                                                       # the smallest such step lies in
    c, *_ = np.linalg.lstsq(space3.W, step, rcond=None)                 # the span of W's columns
    np.testing.assert_allclose(space3.W @ c, step, atol=1e-5)


def test_decode_encode_and_interpolate_are_the_models(space3, digits):
    model, x = space3.model, digits[0]
    z = [0.5, -0.25, 1.0]
    np.testing.assert_array_equal(space3.decode(z)["image"], model.decode(np.array([z], np.float32))[0])
    answer = space3.encode(x[7])
    mu, logvar = model.encode(x[7:8])
    np.testing.assert_allclose(answer["mu"], mu[0], rtol=1e-6)
    np.testing.assert_allclose(answer["std"], np.exp(0.5 * logvar[0]), rtol=1e-5)
    line = space3.interpolate(3, 9, 5)
    np.testing.assert_allclose(line["images"][0], model.decode(model.encode(x[3:4])[0])[0], atol=1e-6)
    np.testing.assert_allclose(line["images"][-1], model.decode(model.encode(x[9:10])[0])[0], atol=1e-6)


def test_the_2d_ellipse_has_the_stds_as_radii(served, digits):
    space = served["vae-2"].space
    answer = space.encode(digits[0][0])
    assert space.W.tolist() == [[1, 0], [0, 1]]                          # J = 2: the map is z itself
    np.testing.assert_allclose(sorted(answer["ellipse"]["radii"]), sorted(answer["std"]), rtol=1e-9)
    np.testing.assert_allclose(answer["xy"], answer["mu"], rtol=1e-12)


def test_the_prior_circles_are_the_view_of_n01(space3, served):
    """The map's prior ellipse is what N(0, I) looks like through the view: checked against samples."""
    prior = space3.info()["prior"]
    z = np.random.default_rng(0).standard_normal((200_000, 3))
    xy = space3.view(z)                                                  # (n, 2)
    np.testing.assert_allclose(prior["xy"], xy.mean(axis=0), atol=0.01)
    radii = np.sqrt(np.linalg.eigvalsh(np.cov(xy.T)))
    np.testing.assert_allclose(sorted(prior["ellipse"]["radii"]), radii, rtol=0.01)
    plane = served["vae-2"].space.info()["prior"]                        # J = 2: the unit circle at 0
    assert plane["xy"] == [0.0, 0.0] and plane["ellipse"]["radii"] == [1.0, 1.0]


def test_a_drawn_digits_neg_elbo_is_rec_plus_kl_written_out(served, digits):
    """-ELBO = mean over draws of -log p(x|z), z = mu + std * eps, plus the closed-form KL: by hand here."""
    space = served["vae-2"].space
    model, x = space.model, digits[0][4]
    answer = space.encode(x)["neg_elbo"]
    framed = np.float32(space.encode(x)["input"])[None, :]                          # what the encoder read
    mu, logvar = (np.float64(a) for a in model.encode(framed))
    std = np.exp(0.5 * logvar)
    kl = 0.5 * np.sum(mu ** 2 + std ** 2 - 1.0 - logvar)                             # KL(q || N(0, I))
    eps = np.float64(sample_eps((ELBO_DRAWS, 2), backend.rng(0), model.dtype))
    p = np.float64(model.decode(np.float32(mu + std * eps)))                          # (S, D) Bernoulli means
    xs = np.float64(framed[0])
    rec = -np.mean(np.sum(xs * np.log(p) + (1 - xs) * np.log1p(-p), axis=1))
    np.testing.assert_allclose(answer["kl"], kl, rtol=1e-4)
    np.testing.assert_allclose(answer["rec"], rec, rtol=1e-3)
    np.testing.assert_allclose(answer["neg_elbo"], answer["rec"] + answer["kl"], rtol=1e-12)
    assert "not a log-likelihood" in answer["what"]


def test_samples_come_from_the_prior_and_are_decoded_where_they_sit(served):
    space = served["vae-2"].space
    a, b, c = space.sample(32, 5), space.sample(32, 5), space.sample(32, 6)
    assert a["z"] == b["z"] and a["z"] != c["z"]                         # seeded: the same seed, the same draws
    z = np.array(a["z"])
    np.testing.assert_allclose(a["xy"], z, rtol=1e-12)                   # J = 2: a sample sits at its z
    np.testing.assert_array_equal(np.float32(a["images"]), space.model.decode(np.float32(z)))
    many = np.array(space.sample(32, 1)["z"] + space.sample(32, 2)["z"] + space.sample(32, 3)["z"])
    assert abs(many.mean()) < 0.2 and 0.85 < many.std() < 1.15          # N(0, 1): 192 draws


def test_the_axes_are_explained_in_words(space3, served):
    assert "Fisher" in space3.info()["axes_explained"] and "linear" in space3.info()["axes_explained"]
    assert "z1 and z2 themselves" in served["vae-2"].space.info()["axes_explained"]


# ---- the API --------------------------------------------------------------------------------------

def test_page_info_and_decode(served):
    srv = served["vae-2"]
    status, page = call(srv, "GET", "/")
    assert status == 200 and page_files(page) == ["/explore.css", "/common.js", "/explore.js"]   # shared code first
    for path in page_files(page):
        assert call(srv, "GET", path) == (200, (STATIC / path.lstrip("/")).read_bytes())
    status, info = call(srv, "GET", "/api/info")
    assert status == 200 and info["latent"] == 2 and len(info["points"]) == len(info["labels"]) == N_MAP
    status, answer = call(srv, "POST", "/api/decode", {"z": [0.5, -1.0]})
    assert status == 200
    model = srv.space.model
    np.testing.assert_array_equal(np.float32(answer["image"]), model.decode(np.float32([[0.5, -1.0]]))[0])


def test_the_conditional_model_decodes_the_label_asked_for(served):
    srv = served["cvae-2"]
    status, answer = call(srv, "POST", "/api/decode", {"z": [0.2, 0.1], "label": 7})
    assert status == 200
    expected = srv.space.model.decode(np.float32([[0.2, 0.1]]), np.array([7]))[0]
    np.testing.assert_array_equal(np.float32(answer["image"]), expected)
    assert call(srv, "POST", "/api/decode", {"z": [0.2, 0.1], "label": 10})[0] == 400


BAD = [
    ("POST", "/api/decode", b'{"z": [0, 0', 400, "not JSON"),
    ("POST", "/api/decode", b'{"z": [0, 0, 0]}', 400, "list of 2 numbers, got a list of 3"),
    ("POST", "/api/decode", b'{"z": [NaN, 0]}', 400, "finite"),
    ("POST", "/api/decode", b'{"z": [Infinity, 0]}', 400, "finite"),
    ("POST", "/api/decode", b'{"z": [1e999, 0]}', 400, "finite"),
    ("POST", "/api/decode", b'{"z": ["0", 0]}', 400, "finite number"),
    ("POST", "/api/decode", b'[0, 0]', 400, "JSON object"),
    ("POST", "/api/decode", b'{"z": [0, 0], "path": "/etc/passwd"}', 400, "unknown ['path']"),
    ("POST", "/api/encode", json.dumps({"image": [0.5] * 783}).encode(), 400, "784 numbers"),
    ("POST", "/api/encode", json.dumps({"image": [2.0] * 784}).encode(), 400, "in [0, 1]"),
    ("POST", "/api/interpolate", b'{"a": 0, "b": 1000000, "steps": 5}', 400, "'b' must be an integer"),
    ("POST", "/api/interpolate", b'{"a": 0, "b": 1, "steps": 100000}', 400, "'steps'"),
    ("POST", "/api/checkpoint", b'{}', 404, "no such API path"),
    ("POST", "/api/sample", b'{"n": 0, "seed": 1}', 400, "'n' must be an integer from 1 to 32"),
    ("POST", "/api/sample", b'{"n": 4, "seed": -1}', 400, "'seed' must be an integer"),
    ("POST", "/api/sample", b'{"n": 4}', 400, "missing ['seed']"),
    ("GET", "/../../etc/passwd", None, 400, "'..'"),
    ("GET", "/static/%2e%2e/server.py", None, 400, "'..'"),
    ("GET", "/server.py", None, 404, "no such page"),
    ("PUT", "/api/decode", b'{"z": [0, 0]}', 405, "GET and POST only"),
    ("DELETE", "/", None, 405, "GET and POST only"),
    # issue 25: each of these closed the connection with a traceback, or answered in HTML
    ("TRACE", "/", None, 405, "TRACE is not served; the page uses GET and POST only"),
    ("PROPFIND", "/api/decode", None, 405, "PROPFIND is not served"),
    ("POST", "/api/decode", b'{"z": [1e400, 0]}', 400, "the JSON number 1e400 is too large for a float64"),
    ("POST", "/api/decode", b'{"z": [1' + b'0' * 400 + b', 0]}', 400, "a JSON integer of 401 digits; at most 100"),
    ("POST", "/api/decode", b'{"z": [' + b'1' * 99 + b', 0]}', 400, "'z'[0] must be a finite number in [-1000"),
    ("POST", "/api/decode", b'{"z": ' + b'[' * 20000 + b']' * 20000 + b'}', 400, "nests 20,001 levels deep"),
    ("POST", "/api/decode", b'{"z": ["[[[[[[[[[[", 0]}', 400, "'z'[0] must be a finite number"),   # a string's [
]


@pytest.mark.parametrize("method,path,body,status,reason", BAD, ids=[f"{b[1]}:{b[4]}" for b in BAD])
def test_a_bad_request_is_a_4xx_with_one_line_and_serving_goes_on(served, method, path, body, status, reason):
    srv = served["vae-2"]
    got, answer = call(srv, method, path, body)
    assert got == status and reason in answer["error"] and "\n" not in answer["error"]
    assert call(srv, "GET", "/api/info")[0] == 200


def test_wrong_host_and_content_type_are_refused(served):
    srv = served["vae-2"]
    status, answer = call(srv, "GET", "/api/info", headers={"Host": "evil.example:80"})
    assert status == 403 and "Host" in answer["error"]
    status, answer = call(srv, "POST", "/api/decode", b"z=0", headers={"Content-Type": "text/plain"})
    assert status == 415


def test_a_100_mb_body_is_refused_before_it_is_read(served):
    srv = served["vae-2"]
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(f"POST /api/decode HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {100 * 2**20}\r\n\r\n".encode() + b"[" * 2**20)          # the first MB of it
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.0 413") or reply.startswith(b"HTTP/1.1 413")
    assert b"104,857,600 bytes" in reply
    assert call(srv, "GET", "/api/info")[0] == 200


def _raw(port, request):
    """Send raw bytes; return the whole reply (the server closes the connection after a refusal)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    return reply


@pytest.mark.parametrize("length,status,reason", [
    ("\u00b2", 411, "Content-Length must be a number of bytes in ASCII digits, got '\u00b2'"),
    ("9" * 5000, 413, "the body is a 5,000-digit number of bytes; at most 65,536 are read"),
    ("-1", 411, "in ASCII digits, got '-1'"),
])
def test_a_content_length_that_is_no_byte_count_is_refused(served, length, status, reason):
    port = served["vae-2"].port
    reply = _raw(port, f"POST /api/decode HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                       f"Content-Length: {length}\r\n\r\n{{}}".encode("latin-1"))   # as http.server reads it
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == str(status).encode(), reply[:300]
    assert reason in json.loads(body)["error"]


# ---- the command -----------------------------------------------------------------------------------

def serve(*flags):
    """Start `python -m scratchvae.explore ... --no-browser --port 0`; return (process, address)."""
    proc = subprocess.Popen([sys.executable, "-m", "scratchvae.explore", *flags, "--no-browser", "--port", "0",
                             "--points", "200"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            # a job started in the background by a non-interactive shell inherits SIGINT
                            # ignored; the server must take Ctrl-C as a user's terminal sends it
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    line = proc.stdout.readline()
    assert "http://127.0.0.1:" in line, line + proc.stderr.read()
    return proc, line.split("http://127.0.0.1:")[1].split("/")[0]


def stop(proc):
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()                               # never leave a server behind
        proc.communicate()
        raise
    assert proc.returncode == 130 and err.strip().endswith("interrupted"), err


def test_the_command_serves_a_shipped_model_until_interrupted():
    proc, port = serve("--model", "cvae-2")
    try:
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
        conn.request("GET", "/api/info")
        info = json.loads(conn.getresponse().read())
        assert info["kind"] == "cvae" and info["conditional"] and len(info["points"]) == 200
    finally:
        stop(proc)


def test_the_command_reads_a_checkpoint_the_training_loop_wrote(tmp_path):
    model = VAE(VAEConfig(hidden=(16,), latent=4))
    checkpoint.save(tmp_path / "checkpoint.npz", model)
    proc, port = serve("--checkpoint", str(tmp_path / "checkpoint.npz"))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
        conn.request("GET", "/api/info")
        assert json.loads(conn.getresponse().read())["latent"] == 4
    finally:
        stop(proc)


def test_the_command_survives_hostile_clients_without_a_traceback():
    """The bad requests above, a Content-Length of '\u00b2', and a client that resets its connection mid-body
    (SO_LINGER 0): each ends that connection only; the server keeps serving and its stderr stays empty."""
    proc, port = serve("--model", "vae-2")
    port = int(port)
    try:
        head = f"POST /api/decode HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        deep, huge = b'{"z": ' + b"[" * 20000 + b"]" * 20000 + b"}", b'{"z": [1e400, 0]}'
        for length, body in (("\u00b2", b"{}"), ("9" * 5000, b"{}"), (str(len(deep)), deep), (str(len(huge)), huge)):
            assert b" 4" in _raw(port, (head + f"Content-Length: {length}\r\n\r\n").encode("latin-1") + body)[:12]
        for _ in range(3):                               # a reset while the server waits for the rest of a body
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.sendall((head + "Content-Length: 1000\r\n\r\n").encode() + b'{"z": [0')
            s.close()
        assert b"405" in _raw(port, f"TRACE / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())[:12]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/info")
        assert conn.getresponse().status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert "Traceback" not in err and err.strip().endswith("interrupted"), err


@pytest.mark.parametrize("make,flags,message", [
    ("autoencoder", [], "cannot be explored: it holds an autoencoder"),
    (None, ["--model", "vae-99"], "no shipped model named 'vae-99'"),
    (None, ["--checkpoint", "/nonexistent/checkpoint.npz"], "checkpoint not found"),
    (None, ["--port", "70000"], "--port must be a port number"),
    (None, ["--model", "vae-2", "--checkpoint", "x.npz"], "not allowed with argument"),
])
def test_what_it_cannot_show_is_one_line(tmp_path, capsys, make, flags, message):
    if make == "autoencoder":
        checkpoint.save(tmp_path / "ae.npz", Autoencoder(AEConfig(hidden=(16,), code=4)))
        flags = ["--checkpoint", str(tmp_path / "ae.npz")]
    code = cli.run_main("python -m scratchvae.explore", explore_main, [*flags, "--no-browser"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err and "Traceback" not in err


def test_a_port_in_use_is_one_line(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = cli.run_main("python -m scratchvae.explore", explore_main,
                            ["--model", "vae-2", "--port", str(port), "--no-browser", "--points", "50"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and f"--port {port}" in err


# ---- a drawing, framed as MNIST's digits were -----------------------------------------------------

def test_framing_undoes_a_digit_blown_up_and_moved(served, digits):
    from scratchvae.explore.framing import frame_like_mnist, resize_bilinear
    x = digits[0][:50].reshape(-1, 28, 28).astype(np.float64)
    again = np.stack([frame_like_mnist(img.reshape(-1)) for img in x]).reshape(x.shape)
    framed = frame_like_mnist(again[0].reshape(-1)).reshape(28, 28)
    np.testing.assert_allclose(framed, again[0], atol=1e-6)            # framing a framed digit changes nothing
    rows, cols = np.indices(again[0].shape)
    for img in again[:10]:                                            # its mass at the centre, to within a pixel
        centre = np.array([(rows * img).sum(), (cols * img).sum()]) / img.sum()
        assert np.all(np.abs(centre - 13.5) <= 0.5 + 1e-9)
        ink = np.flatnonzero(img.max(axis=1) > 0.05), np.flatnonzero(img.max(axis=0) > 0.05)
        assert max(ink[0][-1] - ink[0][0], ink[1][-1] - ink[1][0]) + 1 in (19, 20, 21)   # a 20-pixel box
    # the way a person draws: the digit blown up to fill the canvas and pushed into a corner
    space = served["vae-2"].space
    big = np.zeros((28, 28))
    big[1:, :27] = resize_bilinear(again[0][4:24, 4:24], (27, 27))
    mu_digit = space.encode(again[0].reshape(-1))["mu"]
    mu_drawn = space.encode(big.reshape(-1))["mu"]
    mu_framed = space.encode(big.reshape(-1), frame=True)["mu"]
    assert np.linalg.norm(np.subtract(mu_framed, mu_digit)) < np.linalg.norm(np.subtract(mu_drawn, mu_digit))
    blank = np.zeros(784)
    np.testing.assert_array_equal(frame_like_mnist(blank), blank)      # nothing drawn: nothing moved
