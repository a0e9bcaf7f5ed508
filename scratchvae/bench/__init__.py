"""How fast is hand-written backprop? `python -m scratchvae.bench` measures it (vae.py says what)."""
from .vae import main  # noqa: F401
