"""Mask maths for inpainting: snap to the latent grid, feather outward, composite in pixel space.

The model repaints whole latent cells (8x8 pixels), so a mask that cuts through a cell would leave a
half-repainted seam. We grow the mask to whole cells, then feather *outward* only: inside the grown
mask the result is purely generated, beyond the feather it is the source, bit for bit.
"""

import numpy as np
from PIL import Image, ImageChops, ImageFilter

LATENT_CELL = 8


def binarize(mask: Image.Image) -> Image.Image:
    """Any painted pixel (value > 0) counts as "repaint"."""
    return mask.convert("L").point(lambda v: 255 if v > 0 else 0)


def dilate_to_grid(mask: Image.Image, cell: int = LATENT_CELL) -> Image.Image:
    """Grow a mask so that every ``cell`` x ``cell`` block touched by it is fully masked."""
    a = np.asarray(mask.convert("L")) > 0
    h, w = a.shape
    ph, pw = -h % cell, -w % cell
    padded = np.pad(a, ((0, ph), (0, pw)))
    cells = padded.reshape(padded.shape[0] // cell, cell, padded.shape[1] // cell, cell).any(axis=(1, 3))
    grown = np.repeat(np.repeat(cells, cell, axis=0), cell, axis=1)[:h, :w]
    return Image.fromarray((grown * 255).astype(np.uint8), mode="L")


def feather(mask: Image.Image, radius: int) -> Image.Image:
    """Soften a binary mask outward by about ``radius`` pixels, keeping its inside fully set."""
    if radius <= 0:
        return mask
    blurred = mask.filter(ImageFilter.GaussianBlur(radius))
    return ImageChops.lighter(blurred, mask)


def composite_mask(mask: Image.Image, radius: int, cell: int = LATENT_CELL) -> Image.Image:
    """The mask actually used to paste a result over its source."""
    return feather(dilate_to_grid(mask, cell), radius)


def composite(source: Image.Image, generated: Image.Image, mask: Image.Image) -> Image.Image:
    """``generated`` where ``mask`` is 255, ``source`` where it is 0 (bit-exact), blended in between."""
    if generated.size != source.size:
        generated = generated.resize(source.size, Image.Resampling.LANCZOS)
    return Image.composite(generated.convert("RGB"), source.convert("RGB"), mask)


def is_empty(mask: Image.Image | None) -> bool:
    return mask is None or mask.convert("L").getbbox() is None
