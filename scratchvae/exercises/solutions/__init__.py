"""Reference answers to the exercises: `python -m scratchvae.exercises check all --solutions` checks them.
Read one after trying the exercise yourself."""
