"""Tiled refine ("Ultimate SD upscale" style): an upscaled picture refined by image-to-image over overlapping tiles.

:class:`TiledRefine` is the frozen record of the pass (recorded in the recipe, written into ``parameters`` as
the Ultimate SD upscale script writes it). The geometry is plain Python: :func:`tile_grid` covers a picture
with tiles that share at least ``overlap`` pixels with their neighbours, and :func:`blend` lays a refined tile
over the picture. Tiles run in rows, left to right; a tile fades in linearly over the ``overlap`` pixels of its
left and top sides (where the tiles before it lie) and covers the rest, so every seam is a cross-fade between
two refined tiles and no unrefined pixel shows through.
"""

import math
from dataclasses import dataclass, replace

import numpy as np

from studio.core.errors import StudioError

REFINE_STRENGTH = 0.35  # Ultimate SD upscale's advice: 0.3-0.5 adds detail without new things
MIN_TILE, MAX_TILE = 64, 2048
MAX_OVERLAP = 256
LATENT_GRID = 8  # pixels per latent: tiles and the padded picture are multiples of it
MAX_SIDE = 8192  # of the refined picture: it is held whole in memory, its tiles are not


@dataclass(frozen=True)
class TiledRefine:
    """The refine pass after an upscale. ``tile_width``/``tile_height`` 0: the model's native size.

    ``upscaler`` and ``scale`` say how the picture was upscaled before it was refined (recorded, not run here).
    """

    upscaler: str = "Lanczos"
    scale: float = 2.0
    tile_width: int = 0
    tile_height: int = 0
    overlap: int = 64

    def sized(self, native: int) -> "TiledRefine":
        """This pass with tile sizes of 0 replaced by the model's ``native`` size."""
        return replace(self, tile_width=self.tile_width or native, tile_height=self.tile_height or native)

    def validate(self) -> None:
        """Raise :class:`StudioError` with one sentence for the first thing that cannot work."""
        for side, value in (("width", self.tile_width), ("height", self.tile_height)):
            if value and not MIN_TILE <= value <= MAX_TILE:
                raise StudioError(f"The tile {side} must be between {MIN_TILE} and {MAX_TILE} pixels (got {value}).")
            if value % 8:
                raise StudioError(f"The tile {side} must be a multiple of 8 (got {value}).")
        sides = [v for v in (self.tile_width, self.tile_height) if v]
        most = min([MAX_OVERLAP, *(v // 2 for v in sides)])
        if not 0 <= self.overlap <= most:
            raise StudioError(f"The tile overlap must be between 0 and {most} pixels (got {self.overlap}).")
        if not self.upscaler.strip():
            raise StudioError("Choose an upscaler (for example Lanczos).")


def overlap_for(tile: int) -> int:
    """The overlap for square tiles of ``tile`` pixels (0: the model's size): 64, or a quarter of a small tile."""
    return min(TiledRefine.overlap, tile // 4) if tile else TiledRefine.overlap


@dataclass(frozen=True)
class Tile:
    """One tile: its box in the picture and whether it fades in over tiles to its left and above."""

    left: int
    top: int
    right: int
    bottom: int
    fades_left: bool = False
    fades_top: bool = False

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.left, self.top, self.right, self.bottom

    @property
    def size(self) -> tuple[int, int]:
        return self.right - self.left, self.bottom - self.top


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Evenly spread positions of tiles of ``tile`` pixels that cover ``length``, neighbours sharing at least
    ``overlap`` pixels (one tile at 0 when it covers everything)."""
    if length <= tile:
        return [0]
    count = math.ceil((length - overlap) / (tile - overlap))
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def tile_grid(width: int, height: int, tile_width: int, tile_height: int, overlap: int) -> list[Tile]:
    """The tiles over a ``width`` x ``height`` picture in the order they run (rows, left to right); a tile is
    at most ``tile_width`` x ``tile_height`` (smaller only where the picture is)."""
    tw, th = min(tile_width, width), min(tile_height, height)
    return [
        Tile(x, y, x + tw, y + th, fades_left=x > 0, fades_top=y > 0)
        for y in tile_starts(height, th, overlap)
        for x in tile_starts(width, tw, overlap)
    ]


def refine_grid(width: int, height: int, tiling: TiledRefine) -> list[Tile]:
    """The tiles that refine a ``width`` x ``height`` picture with ``tiling`` (its tile sizes set), over the
    picture padded to multiples of :data:`LATENT_GRID` for the VAE."""
    return tile_grid(padded(width), padded(height), tiling.tile_width, tiling.tile_height, tiling.overlap)


def padded(length: int) -> int:
    return -(-length // LATENT_GRID) * LATENT_GRID


def _ramp(length: int, feather: int, fades: bool) -> np.ndarray:
    weight = np.ones(length, np.float32)
    if fades and feather:
        ramp = (np.arange(min(feather, length), dtype=np.float32) + 0.5) / feather
        weight[: len(ramp)] = ramp
    return weight


def tile_weights(tile: Tile, feather: int) -> np.ndarray:
    """The tile's weight per pixel (height x width): rising linearly from 0 to 1 over ``feather`` pixels at the
    sides where it fades in, 1 everywhere else."""
    width, height = tile.size
    return _ramp(height, feather, tile.fades_top)[:, None] * _ramp(width, feather, tile.fades_left)[None, :]


def blend(picture: np.ndarray, part: np.ndarray, tile: Tile, feather: int) -> None:
    """Lay ``part`` (the refined tile, height x width x 3 uint8) over ``picture`` (uint8, changed in place)."""
    region = picture[tile.top : tile.bottom, tile.left : tile.right]
    weight = tile_weights(tile, feather)[..., None]
    mixed = part.astype(np.float32) * weight + region.astype(np.float32) * (1.0 - weight)
    region[...] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def check_picture_size(width: int, height: int) -> None:
    """Raise :class:`StudioError` unless a picture of this size can be refined."""
    if min(width, height) < MIN_TILE:
        raise StudioError(f"The picture is {width}x{height}; refining needs at least {MIN_TILE} pixels a side.")
    if max(width, height) > MAX_SIDE:
        raise StudioError(f"The picture is {width}x{height}; refining works up to {MAX_SIDE} pixels a side "
                          "(lower the scale).")
