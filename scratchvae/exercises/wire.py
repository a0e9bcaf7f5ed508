"""What travels between the checker and the process running your code: plain data, never pickle.

Unpickling runs code chosen by whoever wrote the bytes, and the process that runs your code could
write anything to its pipe. So the two sides speak a format that can only describe data:

    a message  = 8 bytes (little-endian length of the header) + the header, JSON
                 + one block per array, each in NumPy's .npy format (allow_pickle=False)
    the header = {"v": TREE, "n": [bytes of array 0, bytes of array 1, ...]}
    TREE       = null | true | false | a number | a string
               | {"t": [TREE, ...]}  a tuple          | {"l": [TREE, ...]}  a list
               | {"d": [[TREE, TREE], ...]}  a dict   | {"a": i}  array i   | {"s": i}  a NumPy scalar (array i, 0-d)
               | {"h": id, ...}  an object that stays in your process (a handle: remote.py's Remote)
               | {"seq": [TREE, ...]}  a Sequential,  {"ns": [[name, TREE], ...]}  a SimpleNamespace (checker to you)
               | {"ref": [id, attr, key]}  a copy of an array your object's attribute held when the two sides
                 last agreed on it (checker to you: a layer's W sent back to your adam_step is not resent)

An array is accepted only as a plain numpy.ndarray of booleans, integers or floats: no subclass (one whose
== says True to anything could otherwise pass for a right answer), no object or structured dtype. Every
read has a deadline and every message a size cap, so neither a silent process nor a flood can hang or
swamp the checker.
"""
import io
import json
import math
import os
import select
import struct
import threading
import time

import numpy as np

KINDS = "biuf"                  # the dtype kinds that travel: bool, signed and unsigned integers, floats
MAX_HEADER = 16 << 20           # bytes of JSON in one message
MAX_DEPTH = 32                  # nesting of tuples, lists and dicts
HEADER_LOCK = threading.Lock()  # one .npy header parsed at a time: NumPy parses it with ast.literal_eval, and
                                # CPython 3.11 (3.11.7 here) keeps the AST's recursion depth per interpreter, not
                                # per thread, so two `grade --jobs 2` threads parsing at once could raise
                                # "SystemError: AST constructor recursion depth mismatch", a student's false FAILING


class WireError(Exception):
    """A message that breaks the format (malformed, too large, a refused dtype): it is never used."""


class Refused(TypeError):
    """A value of yours that cannot travel (an ndarray subclass, an object array); the message says which."""


class Ended(Exception):
    """The other side closed its end (the process ended) before a whole message came."""


class TimedOut(Exception):
    """No whole message came before the deadline."""


# --- values to trees and back ---------------------------------------------------------------------

def plain_array(a, what="an array"):
    """a itself if it may travel, else Refused naming why."""
    if type(a) is not np.ndarray:
        raise Refused(f"{what} of type {type(a).__module__}.{type(a).__qualname__}, a subclass of numpy.ndarray: "
                      "the checker takes plain arrays only (np.asarray(...) makes one)")
    if a.dtype.kind not in KINDS or a.dtype.fields is not None:
        raise Refused(f"{what} of dtype {a.dtype} (the checker takes arrays of numbers: bool, int or float)")
    return a


def not_plain(value):
    """Why value may not travel (Refused's text: an ndarray subclass, a complex array), or None when it may.
    Objects are not looked at: only the plain data around them. The check running in your own process asks
    the same of what your code returns, so that both ways of checking give one verdict."""
    try:
        encode(value, [], lambda obj, inner: None)
    except Refused as err:
        return str(err)
    except RecursionError:
        return f"a value nested more than {MAX_DEPTH} levels deep"
    return None


def holds(owner, attr, reason):
    """The message for an attribute of yours that holds what cannot travel (layer.grads with a complex dW)."""
    return f"your {owner}.{attr} holds {reason}"


def encode(value, arrays, handle, depth=0):
    """The TREE for value; its arrays are appended to `arrays`. handle(obj, encode_inner) -> the {"h": ...}
    dict of an object that is not plain data (or Refused, on the side that keeps no objects)."""
    if depth > MAX_DEPTH:
        raise Refused(f"a value nested more than {MAX_DEPTH} levels deep")
    t = type(value)
    if value is None or t is bool or t is str:
        return value
    if t is int:
        if abs(value) >= 1 << 1023:
            raise Refused("an integer too large to compare as a number")
        return value
    if t is float:
        return value if math.isfinite(value) else {"f": repr(value)}     # JSON has no inf or nan
    if t is np.ndarray or isinstance(value, np.ndarray):
        ref = getattr(handle, "ref", None)          # the checker's side: an array the child already holds
        tree = ref(value) if ref is not None and t is np.ndarray else None
        if tree is not None:
            return tree
        arrays.append(plain_array(value))
        return {"a": len(arrays) - 1}
    if isinstance(value, np.generic) and value.dtype.kind in KINDS and type(value).__module__ == "numpy":
        arrays.append(np.asarray(value))
        return {"s": len(arrays) - 1}
    if t is tuple or t is list:
        return {"t" if t is tuple else "l": [encode(v, arrays, handle, depth + 1) for v in value]}
    if t is dict:
        return {"d": [[encode(k, arrays, handle, depth + 1), encode(v, arrays, handle, depth + 1)]
                      for k, v in value.items()]}
    return handle(value, lambda v: encode(v, arrays, handle, depth + 1))


def decode(tree, arrays, resolve, depth=0):
    """The value a TREE describes; resolve(dict) turns {"h"/"seq"/"ns": ...} into an object."""
    if depth > MAX_DEPTH:
        raise WireError("nested too deep")
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if not isinstance(tree, dict) or len(tree) < 1:
        raise WireError(f"not a value: {str(tree)[:80]}")
    if "h" in tree or "seq" in tree or "ns" in tree or "ref" in tree:   # an object (its description has other keys)
        return resolve(tree, lambda t: decode(t, arrays, resolve, depth + 1))
    if "f" in tree:
        if tree["f"] not in ("inf", "-inf", "nan"):
            raise WireError("a float that is not inf or nan")
        return float(tree["f"])
    if "a" in tree or "s" in tree:
        i = tree.get("a", tree.get("s"))
        if type(i) is not int or not 0 <= i < len(arrays):
            raise WireError("an array index out of range")
        return arrays[i] if "a" in tree else arrays[i][()]
    if "t" in tree or "l" in tree:
        items = tree.get("t", tree.get("l"))
        if not isinstance(items, list):
            raise WireError("a sequence that is not a list")
        values = [decode(v, arrays, resolve, depth + 1) for v in items]
        return tuple(values) if "t" in tree else values
    if "d" in tree:
        out = {}
        for pair in tree["d"]:
            if not isinstance(pair, list) or len(pair) != 2:
                raise WireError("a dict entry that is not a pair")
            key = decode(pair[0], arrays, resolve, depth + 1)
            if not isinstance(key, (str, int, float, bool, type(None))):
                raise WireError("a dict key that is not a number or a string")
            out[key] = decode(pair[1], arrays, resolve, depth + 1)
        return out
    raise WireError(f"an unknown kind of value: {sorted(tree)[:3]}")


# --- arrays as .npy blocks --------------------------------------------------------------------------

def array_blocks(a):
    """One array as .npy: its header (bytes) and its data (a view, not a copy)."""
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, np.lib.format.header_data_from_array_1_0(a))
    data = a if a.flags.c_contiguous or not a.flags.f_contiguous else a.T     # .npy stores F order as is
    data = np.ascontiguousarray(data).reshape(-1).view(np.uint8) if a.size else np.zeros(0, np.uint8)
    return [head.getvalue(), memoryview(data)]


def array_from(block):
    """An array from one .npy block, checked before anything is allocated: its dtype and its size."""
    f = io.BytesIO(bytes(block[:1 << 17]))         # the header (at most 64 kB in format 2.0)
    try:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        with HEADER_LOCK:
            shape, fortran, dtype = read(f)
    except (ValueError, SyntaxError, TypeError) as err:
        raise WireError(f"not an .npy block: {err}") from None
    if dtype.kind not in KINDS or dtype.fields is not None or dtype.hasobject:
        raise WireError(f"an array of dtype {dtype}")
    count = math.prod(shape)
    if count * dtype.itemsize != len(block) - f.tell():
        raise WireError("an array whose data does not match its shape")
    flat = np.frombuffer(block, dtype=dtype, count=count, offset=f.tell())   # writable: block is a bytearray
    a = flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)
    return a if a.flags.aligned and a.flags.c_contiguous else np.ascontiguousarray(a)


# --- messages on a file descriptor ------------------------------------------------------------------

def message_buffers(value, handle):
    """The buffers of one message holding value (arrays as views, joined only by the write)."""
    arrays = []
    tree = encode(value, arrays, handle)
    blocks = [array_blocks(a) for a in arrays]
    header = json.dumps({"v": tree, "n": [len(h) + d.nbytes for h, d in blocks]}, separators=(",", ":")).encode()
    return [struct.pack("<Q", len(header)), header, *(b for block in blocks for b in block)]


def pipe():
    """(read end, write end) of a pipe holding 16 MB where allowed (root), else 1 MB (Linux's default cap for
    other users), instead of 64 kB: a training step's arrays then cross in one write instead of hundreds of
    switches between the two processes, each a wait for the CPU on a loaded machine."""
    r, w = os.pipe()
    try:
        import fcntl
    except ImportError:                             # not on this OS: the default size
        return r, w
    for size in (16 << 20, 1 << 20):
        try:
            fcntl.fcntl(w, getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
            break
        except OSError:
            continue
    return r, w


def send(fd, value, handle, deadline=None):
    """Write one message; with a deadline, TimedOut if the other side stops reading (a full pipe)."""
    buffers = [memoryview(b).cast("B") for b in message_buffers(value, handle)]
    buffers = [b for b in buffers if b.nbytes]
    if deadline is not None:
        os.set_blocking(fd, False)
    while buffers:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [fd], [], left)[1]:
                raise TimedOut()
        try:
            n = os.writev(fd, buffers[:512])
        except BlockingIOError:
            continue
        while n and n >= buffers[0].nbytes:
            n -= buffers.pop(0).nbytes
        if n:
            buffers[0] = buffers[0][n:]


def _read(fd, n, deadline):
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimedOut()
        k = os.readv(fd, [view[got:]])
        if k == 0:
            raise Ended()
        got += k
    return buf


def receive(fd, resolve, deadline=None, max_bytes=256 << 20):
    """The next message's value; WireError if it breaks the format, Ended at EOF, TimedOut past the deadline."""
    (size,) = struct.unpack("<Q", _read(fd, 8, deadline))
    if size > MAX_HEADER:
        raise WireError(f"a header of {size} bytes (at most {MAX_HEADER})")
    try:
        header = json.loads(_read(fd, size, deadline))
    except (ValueError, RecursionError) as err:
        raise WireError(f"a header that is not JSON: {str(err)[:80]}") from None
    sizes = header.get("n") if isinstance(header, dict) else None
    if not isinstance(sizes, list) or not all(type(n) is int and n >= 0 for n in sizes) or "v" not in header:
        raise WireError("a header without its value and array sizes")
    if sum(sizes) > max_bytes:
        raise WireError(f"{sum(sizes)} bytes of arrays in one answer (at most {max_bytes})")
    arrays = [array_from(_read(fd, n, deadline)) for n in sizes]
    try:
        return decode(header["v"], arrays, resolve)
    except RecursionError:
        raise WireError("nested too deep") from None
