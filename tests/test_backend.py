"""The backend switch: one clear message when CuPy cannot be used, seeded generators, host transfer."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scratchvae import backend


@pytest.mark.skipif("cupy" in backend.available(), reason="CuPy works here")
def test_asking_for_cupy_without_it_says_what_to_install():
    with pytest.raises(backend.BackendError, match=r"pip install 'scratchvae\[cuda12\]'|no CUDA GPU"):
        backend.use("gpu")
    assert backend.name() == "numpy"                       # the failed switch changed nothing


def test_unknown_backend_is_named():
    with pytest.raises(backend.BackendError, match="unknown backend 'tpu'"):
        backend.use("tpu")


def test_environment_variable_selects_the_backend():
    code = "from scratchvae import backend; print(backend.name())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"SCRATCHVAE_BACKEND": "cpu", "PATH": ""}, cwd=Path(__file__).parent)
    assert done.stdout.strip() == "numpy", done.stderr


def test_seeded_generators_repeat_and_differ(xp):
    a = backend.to_host(backend.rng(3).standard_normal(5))
    assert np.array_equal(a, backend.to_host(backend.rng(3).standard_normal(5)))
    assert not np.array_equal(a, backend.to_host(backend.rng(4).standard_normal(5)))


def test_arrays_follow_their_module_and_come_back_to_the_host(xp):
    a = backend.asarray([1.0, 2.0], dtype=np.float32)
    assert backend.array_module(a) is xp
    assert backend.array_module(np.zeros(2)) is np
    host = backend.to_host(a)
    assert isinstance(host, np.ndarray) and host.dtype == np.float32
    assert backend.to_float(a.sum()) == 3.0


def test_float_dtype_switch():
    assert backend.float_dtype() == np.float32
    backend.set_float_dtype("float64")
    try:
        assert backend.float_dtype() == np.float64
    finally:
        backend.set_float_dtype("float32")
    with pytest.raises(ValueError, match="float32 or float64"):
        backend.set_float_dtype("float16")


@pytest.mark.skipif("cupy" in backend.available(), reason="CuPy works here")
def test_demo_on_a_missing_gpu_is_one_line(tmp_path):
    demo = Path(__file__).resolve().parents[1] / "demos" / "mnist_vae.py"
    done = subprocess.run([sys.executable, str(demo), "--device", "gpu", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "CuPy" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
