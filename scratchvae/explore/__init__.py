"""The latent-space explorer: `python -m scratchvae.explore` serves one local page on which a VAE's
latent space can be moved through. The page's JavaScript only draws; every number (the map, each
decoded digit, a drawn digit's mean and standard deviations) comes from the model's forward pass.

    latent_space   the model side: the map, pointer -> z, decode, encode + ellipse, interpolation
    framing        a drawing framed as MNIST's digits were (a 20 x 20 box, centred by mass) before it is encoded
    server         the HTTP side: one page and a small JSON API on 127.0.0.1, every request bounded
    __main__       the command: pick the model, build the latent space, serve
    static/        the page: index.html, explore.js (drawing and events only), explore.css;
                   common.js, what both pages share (colours, the request to /api, the error line)

The VAE lab (/lab, `python -m scratchvae.explore --lab`) trains a 2-D VAE live on the same server:

    lab            the session: one training thread, its command queue, the newest frame
    lab_run        one run (a step as train.fit takes it), a fork of it, the presets
    lab_frames     what the page is shown: curves, codes, pictures, pulls on mu, exact inference
    lab_api        its JSON API and the checks on every field
    static/        lab.html, lab.js (drawing and events only), lab.css (and common.js)
"""
