"""The refine pass after an upscale: one image-to-image call per tile, each tile blended into the picture as it
finishes (geometry and blending in :mod:`studio.core.tiles`).

Tile ``i`` runs with seed ``seed + i``: the same seed in every tile would give every tile the same noise, which
can print a pattern that repeats with the grid. The picture is padded (edges repeated) to multiples of 8 for the
VAE and cropped back at the end. Previews show the whole picture filling in: the tiles done so far and the
running tile's step preview, at most :data:`PREVIEW_SIDE` pixels on the longer side.
"""

from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PIL import Image

from studio.core import tiles
from studio.core.events import StepUpdate
from studio.core.request import MAX_SEED, GenerationRequest
from studio.core.tiles import TiledRefine

PREVIEW_SIDE = 1024

StepHandler = Callable[[StepUpdate], None]


class TiledPicture:
    """An upscaled picture being refined tile by tile. ``tiling`` must have its tile sizes set (see
    :meth:`TiledRefine.sized`)."""

    def __init__(self, image: Image.Image, tiling: TiledRefine) -> None:
        tiling.validate()
        tiles.check_picture_size(*image.size)
        self.size = image.size
        self._feather = tiling.overlap
        width, height = tiles.padded(image.width), tiles.padded(image.height)
        pad = ((0, height - image.height), (0, width - image.width), (0, 0))
        self._pixels = np.pad(np.asarray(image.convert("RGB")), pad, mode="edge")
        self.tiles = tiles.refine_grid(image.width, image.height, tiling)
        self._preview_scale = min(1.0, PREVIEW_SIDE / max(width, height))
        if self._preview_scale == 1:
            self._preview = self._pixels  # blending a tile updates it too
        else:
            size = (max(1, round(width * self._preview_scale)), max(1, round(height * self._preview_scale)))
            self._preview = np.array(Image.fromarray(self._pixels).resize(size, Image.Resampling.BILINEAR))

    def request(self, index: int, template: GenerationRequest) -> GenerationRequest:
        """Tile ``index`` of the picture as it is now (the tiles before it blended in) as an image-to-image
        request with ``template``'s prompt, steps, strength and seed (plus ``index``)."""
        tile = self.tiles[index]
        width, height = tile.size
        crop = Image.fromarray(self._pixels[tile.top : tile.bottom, tile.left : tile.right].copy())
        request = replace(template, init_image=crop, width=width, height=height, batch_size=1, hires=None,
                          mask=None, seed=(template.seed + index) % (MAX_SEED + 1))
        request.validate()
        return request

    def blend(self, index: int, image: Image.Image) -> None:
        """Lay the refined tile ``index`` over the picture."""
        tile = self.tiles[index]
        tiles.blend(self._pixels, np.asarray(image.convert("RGB")), tile, self._feather)
        if self._preview is not self._pixels:
            left, top, right, bottom = self._preview_box(tile)
            region = Image.fromarray(self._pixels[tile.top : tile.bottom, tile.left : tile.right])
            self._preview[top:bottom, left:right] = np.asarray(
                region.resize((right - left, bottom - top), Image.Resampling.BILINEAR))

    def image(self) -> Image.Image:
        """The picture as it is now, at its own size."""
        width, height = self.size
        return Image.fromarray(self._pixels[:height, :width].copy())

    def previews(self, index: int, on_step: StepHandler | None) -> StepHandler | None:
        """``on_step`` with each step preview of tile ``index`` shown inside the whole picture."""
        if on_step is None:
            return None
        tile = self.tiles[index]

        def whole(update: StepUpdate) -> None:
            frame = self._preview.copy()
            left, top, right, bottom = self._preview_box(tile)
            part = Image.fromarray(update.preview).resize((right - left, bottom - top), Image.Resampling.BILINEAR)
            frame[top:bottom, left:right] = np.asarray(part)
            on_step(replace(update, preview=frame))

        return whole

    def _preview_box(self, tile: tiles.Tile) -> tuple[int, int, int, int]:
        """The tile's box in the preview (at least one pixel each way)."""
        s = self._preview_scale
        height, width = self._preview.shape[:2]
        left, top = min(int(tile.left * s), width - 1), min(int(tile.top * s), height - 1)
        return left, top, max(left + 1, min(round(tile.right * s), width)), max(top + 1, min(round(tile.bottom * s), height))
