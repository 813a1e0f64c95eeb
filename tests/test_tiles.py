"""Tile geometry and blending for the tiled refine (plain Python): tiles cover the picture, neighbours overlap,
edges are exact, and each seam is a linear cross-fade; the recorded fields read back."""

import numpy as np
import pytest

from studio.core.errors import StudioError
from studio.core.metadata import check_parameters, recipe_from_parameters
from studio.core.tiles import TiledRefine, blend, check_picture_size, tile_grid, tile_starts, tile_weights


def _coverage(tiles, width, height) -> np.ndarray:
    seen = np.zeros((height, width), int)
    for tile in tiles:
        seen[tile.top : tile.bottom, tile.left : tile.right] += 1
    return seen


@pytest.mark.parametrize("width,height,tile,overlap", [
    (512, 512, 512, 64), (1000, 750, 512, 64), (2048, 1536, 768, 32), (64, 64, 512, 64), (520, 96, 64, 16),
    (1536, 1024, 1024, 0),
])
def test_tiles_cover_the_picture_and_neighbours_share_the_overlap(width, height, tile, overlap):
    tiles = tile_grid(width, height, tile, tile, overlap)
    assert _coverage(tiles, width, height).min() >= 1
    for t in tiles:
        assert 0 <= t.left < t.right <= width and 0 <= t.top < t.bottom <= height
        assert t.size == (min(tile, width), min(tile, height))  # every tile the same size, none beyond an edge
    for axis_starts, length, side in ((sorted({t.left for t in tiles}), width, min(tile, width)),
                                      (sorted({t.top for t in tiles}), height, min(tile, height))):
        assert axis_starts[0] == 0 and axis_starts[-1] + side == length
        assert all(side - (b - a) >= overlap for a, b in zip(axis_starts, axis_starts[1:]))


def test_tiles_run_in_rows_and_fade_in_only_over_the_tiles_before_them():
    tiles = tile_grid(900, 750, 512, 512, 64)
    assert [(t.left, t.top) for t in tiles] == [(0, 0), (388, 0), (0, 238), (388, 238)]
    assert [(t.fades_left, t.fades_top) for t in tiles] == [(False, False), (True, False), (False, True), (True, True)]


def test_one_tile_when_the_picture_fits_and_the_fewest_that_cover_it_otherwise():
    assert tile_starts(512, 512, 64) == [0]
    assert tile_starts(448, 512, 64) == [0]
    assert tile_starts(960, 512, 64) == [0, 448]  # exactly 64 shared
    assert tile_starts(961, 512, 64) == [0, 224, 449]


def test_a_tile_fades_in_linearly_over_the_overlap_and_covers_the_rest():
    first, second = tile_grid(112, 64, 64, 64, 16)
    assert np.all(tile_weights(first, 16) == 1)
    weights = tile_weights(second, 16)
    assert weights.shape == (64, 64)
    assert np.allclose(weights[0, :16], (np.arange(16) + 0.5) / 16) and np.all(weights[:, 16:] == 1)
    assert np.all(np.diff(weights[:, :17], axis=1) > 0)
    corner = tile_grid(112, 112, 64, 64, 16)[3]
    assert np.isclose(tile_weights(corner, 16)[0, 0], (0.5 / 16) ** 2)


def test_blending_cross_fades_the_seam_and_keeps_everything_else():
    first, second = tile_grid(112, 64, 64, 64, 16)
    picture = np.zeros((64, 112, 3), np.uint8)
    blend(picture, np.full((64, 64, 3), 200, np.uint8), first, 16)
    blend(picture, np.full((64, 64, 3), 40, np.uint8), second, 16)
    row = picture[10, :, 0].astype(int)
    assert np.all(row[:48] == 200) and np.all(row[64:] == 40)  # each tile's own pixels outside the seam
    fade = row[48:64]
    assert np.all(np.diff(fade) < 0) and fade[0] < 200 and fade[-1] > 40
    assert np.abs(np.diff(row)).max() <= 160 / 16 + 1  # no jump: the difference spread over the overlap


def test_impossible_tiles_and_pictures_are_one_sentence():
    TiledRefine(tile_width=512, tile_height=768, overlap=64).validate()
    TiledRefine().validate()  # tile sizes 0: the model's own
    for tiling, words in ((TiledRefine(tile_width=500, tile_height=512), "multiple of 8"),
                          (TiledRefine(tile_width=32, tile_height=32), "between 64 and 2048"),
                          (TiledRefine(tile_width=128, tile_height=128, overlap=65), "between 0 and 64"),
                          (TiledRefine(overlap=-1), "between 0 and 256"),
                          (TiledRefine(upscaler=" "), "Choose an upscaler")):
        with pytest.raises(StudioError, match=words):
            tiling.validate()
    assert TiledRefine().sized(768) == TiledRefine(tile_width=768, tile_height=768)
    with pytest.raises(StudioError, match="at least 64 pixels"):
        check_picture_size(600, 40)
    with pytest.raises(StudioError, match="up to 8192"):
        check_picture_size(9000, 600)


def test_an_ultimate_sd_upscale_text_from_a1111_reads_back_as_a_tiled_refine():
    text = ("a fox\nNegative prompt: blurry\nSteps: 26, Sampler: DPM++ 2M Karras, CFG scale: 8.5, Seed: 345, "
            "Size: 2816x1984, Model hash: 553398964f, Model: AOM3A2, Denoising strength: 0.42, Clip skip: 2, "
            "Ultimate SD upscale upscaler: 4x_NMKD-Siax_200k, Ultimate SD upscale tile_width: 960, "
            "Ultimate SD upscale tile_height: 768, Ultimate SD upscale mask_blur: 8, Ultimate SD upscale padding: 48")
    recipe = recipe_from_parameters(text)
    assert (recipe.mode, recipe.strength, recipe.width, recipe.height) == ("img2img", 0.42, 2816, 1984)
    assert recipe.tiled_refine == TiledRefine(upscaler="4x_NMKD-Siax_200k", tile_width=960, tile_height=768,
                                              overlap=48)
    older = recipe_from_parameters("x\nSteps: 20, Seed: 1, Size: 1024x1024, Denoising strength: 0.3, "
                                   "Ultimate SD upscale upscaler: R-ESRGAN 4x+, Ultimate SD upscale tile_size: 512")
    assert older.tiled_refine == TiledRefine(upscaler="R-ESRGAN 4x+", tile_width=512, tile_height=512)
    odd = check_parameters("x\nSteps: 20, Seed: 1, Size: 1024x1024, Denoising strength: 0.3, "
                           "Ultimate SD upscale upscaler: R, Ultimate SD upscale tile_width: wide")
    assert odd.recipe.tiled_refine is None and odd.skipped == ("tiled_refine",)
