"""A drawing framed as MNIST's digits were, before the encoder reads it.

LeCun et al. (1998), "Gradient-based learning applied to document recognition", and the MNIST page:
each digit was size-normalised to fit a 20 x 20 box, keeping its aspect ratio (anti-aliasing gives the
grey levels), then placed in the 28 x 28 field so that its centre of mass sits at the field's centre.
A digit drawn across the whole canvas is bigger than any digit the encoder was trained on, and lands
where no training digit did; framed first, it lands among its own kind.

    x (28, 28) -> the ink's bounding box  x[r0:r1, c0:c1]                 (h, w)
               -> resized by s = 20 / max(h, w), bilinear                 (round(s h), round(s w))
               -> pasted so the centre of mass  (sum_ij i x_ij / sum x, sum_ij j x_ij / sum x)
                  lands on (14, 14), rounded to whole pixels              (28, 28)
"""
import numpy as np

BOX = 20          # the digit's longer side after size normalisation, in pixels
INK = 0.05        # grey levels above this count as ink when finding the bounding box


def resize_bilinear(image, shape):
    """image (h, w) -> (H, W): each output pixel centre mapped back onto the input grid, then bilinear."""
    h, w = image.shape
    rows = np.clip((np.arange(shape[0]) + 0.5) * h / shape[0] - 0.5, 0, h - 1)     # (H,) input coordinates
    cols = np.clip((np.arange(shape[1]) + 0.5) * w / shape[1] - 0.5, 0, w - 1)     # (W,)
    r0, c0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    r1, c1 = np.minimum(r0 + 1, h - 1), np.minimum(c0 + 1, w - 1)
    fr, fc = (rows - r0)[:, None], (cols - c0)[None, :]                            # (H, 1), (1, W)
    top = image[r0][:, c0] * (1 - fc) + image[r0][:, c1] * fc                      # (H, W)
    bottom = image[r1][:, c0] * (1 - fc) + image[r1][:, c1] * fc
    return top * (1 - fr) + bottom * fr


def frame_like_mnist(image, side=28):
    """A drawing (side * side,) in [0, 1] -> the same digit framed as MNIST's were, (side * side,) float32.

    A blank drawing (no pixel above INK) comes back unchanged. A NaN or inf pixel, a side that cannot
    hold the 20 x 20 box, or a drawing of another size is a ValueError that says which."""
    if isinstance(side, bool) or not isinstance(side, (int, np.integer)) or side < BOX:
        raise ValueError(f"frame_like_mnist: side must be a whole number of pixels >= {BOX} (the digit's box is "
                         f"{BOX} x {BOX}), got {side!r}")
    x = np.asarray(image, dtype=np.float64)
    if x.size != side * side:
        raise ValueError(f"frame_like_mnist: image must hold side * side = {side * side} pixels, got "
                         f"{x.size} (shape {x.shape})")
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise ValueError(f"frame_like_mnist: image must be finite, found {bad.size} NaN/inf pixel(s), first at "
                         f"index {bad[0]}")
    x = x.reshape(side, side)
    ink_rows, ink_cols = np.flatnonzero(x.max(axis=1) > INK), np.flatnonzero(x.max(axis=0) > INK)
    if ink_rows.size == 0:
        return x.reshape(-1).astype(np.float32)
    box = x[ink_rows[0]:ink_rows[-1] + 1, ink_cols[0]:ink_cols[-1] + 1]            # (h, w)
    scale = BOX / max(box.shape)
    size = tuple(max(1, int(round(n * scale))) for n in box.shape)
    digit = np.clip(resize_bilinear(box, size), 0.0, 1.0)                          # (<= 20, <= 20)
    i, j = np.indices(digit.shape)
    mass = digit.sum()
    centre = np.array([(i * digit).sum(), (j * digit).sum()]) / mass               # (2,) within the digit
    top, left = np.round(side / 2 - 0.5 - centre).astype(int)                     # its mass at the middle
    top = int(np.clip(top, 0, side - digit.shape[0]))                              # but never off the field
    left = int(np.clip(left, 0, side - digit.shape[1]))
    out = np.zeros((side, side))
    out[top:top + digit.shape[0], left:left + digit.shape[1]] = digit
    return out.reshape(-1).astype(np.float32)
