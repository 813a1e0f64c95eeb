"""Fitting any image to what the model can take, and putting the result back at the original resolution.

The model wants sides that are multiples of 8 and about its native pixel count. A source image may be any
size (an 8000x8000 photo, a 1023x767 screenshot). A :class:`Region` says which box of the source is
generated (the whole image, or only the masked area plus padding) and at which size: a whole image is only
ever scaled down, a masked area is always rendered at about the model's native pixel count (scaled up when
it is small, as AUTOMATIC1111's "Only masked" does, so a small area gets more detail); :func:`paste_back`
scales the result back into the box and composites it through the feathered mask at full resolution,
so every source pixel outside that mask is kept bit for bit.
"""

import math
from dataclasses import dataclass

from PIL import Image

from studio.core import mask as maskmath
from studio.core.request import MAX_SIDE

MIN_SIDE = 64

Box = tuple[int, int, int, int]  # left, top, right, bottom (right/bottom exclusive)


@dataclass(frozen=True)
class Region:
    box: Box  # the part of the source that is generated
    size: tuple[int, int]  # the generation size (multiples of 8)

    @property
    def scale(self) -> float:
        """Source pixels per generated pixel."""
        return (self.box[2] - self.box[0]) / self.size[0]


def _generation_size(width: int, height: int, native: int, *, enlarge: bool = False,
                     grid: int = 8) -> tuple[int, int]:
    """Multiples of ``grid`` (8; 16 for Flux and SD 3.5) with the box's aspect ratio: the box's own size when it is small enough (unless
    ``enlarge``), else scaled to about ``native`` x ``native`` pixels, and always within the sides a request
    allows (a 16384x100 strip becomes 4096x64). Beyond 64:1 the short side stays at 64, stretched; the result
    is scaled back to the box."""
    scale = math.sqrt(native * native / (width * height))
    scale = min(scale if enlarge else min(1.0, scale), MAX_SIDE / max(width, height))

    def side(length: int) -> int:
        return min(MAX_SIDE, max(MIN_SIDE, round(length * scale / grid) * grid))

    return side(width), side(height)


def _padded_box(bbox: Box, padding: int, image_size: tuple[int, int], min_side: int) -> Box:
    left, top, right, bottom = bbox
    w, h = image_size
    grow_x = max(padding, (min_side - (right - left)) // 2 + 1)
    grow_y = max(padding, (min_side - (bottom - top)) // 2 + 1)
    return max(0, left - grow_x), max(0, top - grow_y), min(w, right + grow_x), min(h, bottom + grow_y)


def plan(image_size: tuple[int, int], mask: Image.Image | None, native: int, *,
         only_masked: bool = False, padding: int = 32, grid: int = 8) -> Region:
    """Where and at which size to generate for ``image_size``.

    ``only_masked`` crops to the mask's bounding box plus ``padding`` (and at least a quarter of the native
    size, so the model sees context) and renders that crop at the model's size, which keeps full detail on
    large images and adds detail to small areas. ``grid``: what the sides must be multiples of.
    """
    box: Box = (0, 0, *image_size)
    crop_to_mask = only_masked and mask is not None and (bbox := mask.getbbox()) is not None
    if crop_to_mask:
        box = _padded_box(bbox, padding, image_size, native // 4)
    return Region(box=box, size=_generation_size(box[2] - box[0], box[3] - box[1], native, enlarge=crop_to_mask,
                                                      grid=grid))


def crop(image: Image.Image, region: Region, resample=Image.Resampling.LANCZOS) -> Image.Image:
    """The part of ``image`` (or of its mask, with NEAREST) the model works on, at generation size."""
    part = image.crop(region.box)
    return part if part.size == region.size else part.resize(region.size, resample)


def crop_mask(mask: Image.Image, region: Region) -> Image.Image:
    return crop(mask.convert("L"), region, Image.Resampling.BOX).point(lambda v: 255 if v > 0 else 0)


def paste_back(source: Image.Image, result: Image.Image, region: Region, mask: Image.Image | None,
               feather: int) -> Image.Image:
    """``result`` (generation size) placed into ``source`` at ``region.box``.

    With a mask, only the feathered, grid-snapped mask area changes; without one (image-to-image) the box
    is replaced by the result.
    """
    left, top, right, bottom = region.box
    placed = result if result.size == (right - left, bottom - top) else result.resize(
        (right - left, bottom - top), Image.Resampling.LANCZOS)
    generated = source.convert("RGB").copy()
    generated.paste(placed.convert("RGB"), (left, top))
    if mask is None:
        return generated
    cell = max(maskmath.LATENT_CELL, math.ceil(maskmath.LATENT_CELL * region.scale))
    paste = maskmath.feather(maskmath.dilate_to_grid(mask, cell), max(0, round(feather * region.scale)))
    return maskmath.composite(source, generated, paste)
