"""The explorer's web server: one page, four small JSON answers, every request bounded.

The standard library's http.server is enough for one page (no web framework). What it serves:

    GET  /  /explore.js  /explore.css     the page (files in static/, package data)
    GET  /common.js                       what the explorer's page and the lab's share (colours, api(), errors)
    GET  /api/info                        the map, the sliders, a start (latent_space.LatentSpace.info)
    POST /api/decode       {"z": [J numbers], "label": y}          -> {"z", "xy", "image"}
    POST /api/point        {"xy": [2 numbers], "z": [J], "label"}  -> the z under the pointer, decoded
    POST /api/encode       {"image": [D numbers in 0..1], "label"} -> {"mu", "std", "xy", "ellipse", "neg_elbo", ...}
    POST /api/interpolate  {"a": i, "b": j, "steps": S, "label"}   -> {"xy", "images"}
    POST /api/sample       {"n": n, "seed": s}                     -> {"z", "xy", "images"}: z ~ N(0, I), decoded
    GET  /lab, /api/lab/..., POST /api/lab/...   the VAE lab, when the server is given one (lab_api.Routes)
("label" only for a conditional model.)

Safe by default:
  - bound to 127.0.0.1 (never another interface), and a request whose Host header is not this
    address is refused (403), so a web page elsewhere cannot reach it through DNS rebinding;
  - only the paths above: anything else is 404, a path with '..' is 400, a method other than GET
    and POST (PUT, TRACE, PROPFIND, any other name) is 405;
  - a POST must say Content-Type: application/json and a Content-Length of at most MAX_BODY bytes
    (a larger body is refused with 413 before it is read; a length that is not ASCII digits is 411);
    the JSON must be an object with exactly the fields above, at most MAX_DEPTH levels deep, each
    number finite and within its range (1e400, which JSON reads as inf, and a 5,000-digit integer
    are refused by name);
  - every refusal is a 4xx with {"error": one line}, and the server goes on serving; a client that
    hangs up or resets its connection ends that connection quietly, without a traceback;
  - the model is chosen on the command line; no request names a file.
"""
import json
import math
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import unquote, urlsplit

MAX_BODY = 64 * 1024             # bytes: a drawn 28x28 image as JSON is about 16 KB
MAX_DEPTH = 8                    # JSON nesting: the API's deepest request is an object holding a list
MAX_DIGITS = 100                 # digits of a JSON number: no field needs more (int('9' * 5000) is slow, or refused)
MAX_STEPS = 32                   # interpolation: decoded points per line
MAX_SAMPLES = 32                 # sample: draws from the prior per request
Z_LIMIT = 1000.0                 # |z_j| bound: a sanity limit (the prior N(0, 1) puts essentially nothing beyond 10)
STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/explore.js": ("explore.js", "text/javascript; charset=utf-8"),
          "/explore.css": ("explore.css", "text/css; charset=utf-8"),
          "/common.js": ("common.js", "text/javascript; charset=utf-8")}        # the lab's page loads it too


class RequestError(Exception):
    """A request the server refuses: an HTTP status and one line saying why."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _reject_constant(name):
    raise RequestError(400, f"the JSON holds {name}; every number must be finite")


def _parse_float(text):
    """A JSON number with a fraction or exponent; 1e400 overflows float64 to inf, so it is refused here."""
    value = float(text)
    if len(text) > MAX_DIGITS or not math.isfinite(value):
        raise RequestError(400, f"the JSON number {text[:40]}{'...' if len(text) > 40 else ''} is too large for "
                                "a float64; every number must be finite")
    return value


def _parse_int(text):
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise RequestError(400, f"a JSON integer of {len(text.lstrip('-')):,} digits; at most {MAX_DIGITS} are read")
    return int(text)


def _depth(raw):
    """How deeply the JSON text nests [ and { (strings skipped), counted before parsing: json.loads
    recurses once per level, and 20,000 levels would end in a RecursionError."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in raw.decode("utf-8", errors="replace"):
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


# ---- the fields of a request, checked ------------------------------------------------------------

def numbers(body, key, length, low, high):
    """body[key] as a list of `length` finite numbers in [low, high], else RequestError naming the field."""
    value = body.get(key)
    if not isinstance(value, list) or len(value) != length:
        got = f"a list of {len(value)}" if isinstance(value, list) else type(value).__name__
        raise RequestError(400, f"field {key!r} must be a list of {length} numbers, got {got}")
    for i, v in enumerate(value):
        # an int is compared as it is: math.isfinite(10 ** 400) would raise OverflowError converting it to float
        finite = isinstance(v, int) or (isinstance(v, float) and math.isfinite(v))
        if isinstance(v, bool) or not finite or not low <= v <= high:
            raise RequestError(400, f"field {key!r}[{i}] must be a finite number in [{low:g}, {high:g}], got {v!r}")
    return value


def integer(body, key, low, high):
    """body[key] as an int in [low, high], else RequestError naming the field."""
    v = body.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise RequestError(400, f"field {key!r} must be an integer from {low} to {high}, got {v!r}")
    return v


def fields(body, required, space):
    """Refuse missing and unknown fields; return the label (None unless the model is conditional)."""
    allowed = set(required) | ({"label"} if space.conditional else set())
    missing, unknown = sorted(set(required) - set(body)), sorted(set(body) - allowed)
    if missing or unknown:
        raise RequestError(400, f"expected the fields {sorted(allowed)}; missing {missing}, unknown {unknown}")
    if space.conditional:
        return integer(body, "label", 0, space.model.config.n_classes - 1) if "label" in body else 0
    return None


def answer(space, path, body):
    """Route one POST to the latent space: its JSON-ready answer."""
    J, D = space.J, space.model.config.n_in
    if path == "/api/decode":
        label = fields(body, ["z"], space)
        return space.decode(numbers(body, "z", J, -Z_LIMIT, Z_LIMIT), label)
    if path == "/api/point":
        label = fields(body, ["xy", "z"], space)
        return space.point(numbers(body, "xy", 2, -1e3, 1e3), numbers(body, "z", J, -Z_LIMIT, Z_LIMIT), label)
    if path == "/api/encode":
        label = fields(body, ["image"], space)
        return space.encode(numbers(body, "image", D, 0.0, 1.0), label, frame=True)   # a drawing
    if path == "/api/interpolate":
        label = fields(body, ["a", "b", "steps"], space)
        n = len(space.labels) - 1
        return space.interpolate(integer(body, "a", 0, n), integer(body, "b", 0, n),
                                 integer(body, "steps", 2, MAX_STEPS), label)
    if path == "/api/sample":
        label = fields(body, ["n", "seed"], space)
        return space.sample(integer(body, "n", 1, MAX_SAMPLES), integer(body, "seed", 0, 2 ** 31 - 1), label)
    raise RequestError(404, f"no such API path {path!r}; the API is /api/info, /api/decode, /api/point, "
                            "/api/encode, /api/interpolate, /api/sample")


# ---- HTTP -------------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    """One request. self.server.space is the LatentSpace; self.server.lock serializes the model."""

    server_version = "scratchvae-explore"
    protocol_version = "HTTP/1.1"  # keep-alive: the page's many small requests reuse one connection
    timeout = 10                   # seconds a silent client may hold a connection

    def log_message(self, format, *args):        # noqa: A002 (the base class's name)
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self):
        self._respond(lambda path: self._get(path))

    def do_POST(self):
        self._respond(lambda path: self._post(path))

    def do_PUT(self):
        self._respond(self._not_allowed)

    do_DELETE = do_PATCH = do_OPTIONS = do_PUT

    def __getattr__(self, name):
        """Any other method (TRACE, PROPFIND, ...): http.server looks up do_<METHOD> and answers a missing
        one with an HTML 501; here every method but GET and POST gets the JSON 405 that PUT gets."""
        if name.startswith("do_"):
            return self.do_PUT
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _not_allowed(self, path):
        raise RequestError(405, f"{self.command} is not served; the page uses GET and POST only")

    def _respond(self, handle):
        self.body_read = False
        try:
            path = self._checked_path()
            status, content_type, payload = handle(path)
        except RequestError as err:
            status, content_type = err.status, "application/json"
            payload = json.dumps({"error": str(err)}).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if status >= 400:
            self.close_connection = True
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)
        if status >= 400 and self.command != "GET" and not self.body_read:
            self._drain()

    def _checked_path(self):
        host = self.headers.get("Host", "")
        if host not in self.server.hosts:
            raise RequestError(403, f"Host {host!r} is not served; open http://{self.server.hosts[0]}/")
        path = urlsplit(self.path).path
        if ".." in unquote(path).split("/"):
            raise RequestError(400, f"path {self.path[:80]!r} holds '..'; only the page and /api/ are served")
        return path

    def _get(self, path):
        if path == "/api/info":
            return 200, "application/json", self.server.info
        if self.server.lab is not None and self.server.lab.handles(path):
            return self.server.lab.get(path)
        if path not in STATIC:
            raise RequestError(404, f"no such page {path[:80]!r}; the explorer serves / and /api/")
        name, content_type = STATIC[path]
        return 200, content_type, resources.files(__package__).joinpath("static", name).read_bytes()

    def _post(self, path):
        if not path.startswith("/api/") or path == "/api/info":
            raise RequestError(404 if path != "/api/info" else 405, f"POST {path[:80]!r} is not an API call")
        if self.headers.get_content_type() != "application/json":
            raise RequestError(415, f"Content-Type must be application/json, got {self.headers.get_content_type()!r}")
        length = self.headers.get("Content-Length", "").strip()
        if not (length.isascii() and length.isdigit()):         # '²'.isdigit() is True, but int('²') fails
            raise RequestError(411, f"Content-Length must be a number of bytes in ASCII digits, got {length[:40]!r}")
        if len(length) > 12:                                     # no need to read 5,000 digits into an int
            raise RequestError(413, f"the body is a {len(length):,}-digit number of bytes; at most {MAX_BODY:,} "
                                    "are read")
        if int(length) > MAX_BODY:
            raise RequestError(413, f"the body is {int(length):,} bytes; at most {MAX_BODY:,} are read")
        raw = self.rfile.read(int(length))
        self.body_read = True
        if _depth(raw) > MAX_DEPTH:
            raise RequestError(400, f"the JSON nests {_depth(raw):,} levels deep; the API's requests need at most "
                                    f"{MAX_DEPTH}")
        try:
            body = json.loads(raw, parse_constant=_reject_constant, parse_float=_parse_float, parse_int=_parse_int)
        except (ValueError, UnicodeDecodeError) as err:
            raise RequestError(400, f"the body is not JSON ({str(err).splitlines()[0][:120]})") from None
        if not isinstance(body, dict):
            raise RequestError(400, f"the body must be a JSON object, got {type(body).__name__}")
        if self.server.lab is not None and self.server.lab.handles(path):   # its own thread and checks
            return self.server.lab.post(path, body)
        with self.server.lock:                                # one forward pass at a time
            result = answer(self.server.space, path, body)
        return 200, "application/json", json.dumps(result).encode()

    def _drain(self, limit=1 << 22):
        """After refusing a body unread (a 413, say), read and drop what the client is still sending, up
        to `limit` bytes, so the answer is not lost to a connection reset when the socket closes."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(1.0)
            while limit > 0:
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                limit -= len(chunk)
        except OSError:
            pass


class ExploreServer(ThreadingHTTPServer):
    """ThreadingHTTPServer on 127.0.0.1 holding the latent space, its /api/info answer and a lock; and, if
    given, the lab's routes (lab_api.Routes: handles, get, post, close), whose training thread ends when the
    server is shut down or closed. This module never imports the lab: the dependency runs one way."""

    daemon_threads = True

    def __init__(self, space, port=0, verbose=False, lab=None):
        self.lab = lab                                   # first: a failed bind calls server_close()
        super().__init__(("127.0.0.1", port), Handler)
        self.space, self.verbose, self.lock = space, verbose, threading.Lock()
        self.port = self.server_address[1]
        self.hosts = [f"127.0.0.1:{self.port}", f"localhost:{self.port}"]
        self.info = json.dumps(space.info()).encode()
        self.url = f"http://127.0.0.1:{self.port}/"

    def handle_error(self, request, client_address):
        """A client that hung up, reset the connection or went silent past Handler.timeout is the
        client's business: that connection ends quietly. Anything else is a bug and keeps its traceback."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            if self.verbose:
                print(f"{client_address[0]}:{client_address[1]}: {sys.exc_info()[1]!r}", file=sys.stderr)
            return
        super().handle_error(request, client_address)

    def shutdown(self):
        if self.lab is not None:
            self.lab.close()
        super().shutdown()

    def server_close(self):
        if self.lab is not None:
            self.lab.close()
        super().server_close()


def start(space, port=0, verbose=False, lab=None):
    """Serve in a background thread (tests, notebooks): returns the server; call .shutdown() to stop."""
    server = ExploreServer(space, port, verbose, lab)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
