"""The exercise stubs, copied into your own folder by `python -m scratchvae.exercises start`. Edit the copies."""
