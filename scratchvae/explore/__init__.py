"""The latent-space explorer: `python -m scratchvae.explore` serves one local page on which a VAE's
latent space can be moved through. The page's JavaScript only draws; every number (the map, each
decoded digit, a drawn digit's mean and standard deviations) comes from the model's forward pass.

    latent_space   the model side: the map, pointer -> z, decode, encode + ellipse, interpolation
    server         the HTTP side: one page and a small JSON API on 127.0.0.1, every request bounded
    __main__       the command: pick the model, build the latent space, serve
    static/        the page: index.html, explore.js (drawing and events only), explore.css
"""
