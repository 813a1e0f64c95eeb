"""The tiled refine on the real engine (tiny random-weight SD model): each tile is diffusers' own image-to-image,
tiles are blended as documented, one progress bar and whole-picture previews, cancel, and the recipe."""

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline, EulerDiscreteScheduler, StableDiffusionImg2ImgPipeline
from PIL import Image

from studio.core.cancel import CancelToken
from studio.core.errors import GenerationCancelled, StudioError
from studio.core.metadata import PARAMETERS_KEY, format_parameters, read_recipe, recipe_from_parameters
from studio.core.outputs import write_image
from studio.core.paths import models_dir
from studio.core.request import GenerationRequest
from studio.core.tiles import TiledRefine, tile_grid, tile_weights
from tests.tiny_networks import kohya_lora

PROMPT, NEGATIVE, SEED, STEPS, STRENGTH = "a harbour at noon", "blurry", 11, 10, 0.4
RUNS = int(STEPS * STRENGTH)  # the steps image-to-image runs per tile


def _request(**kw) -> GenerationRequest:
    base = dict(prompt=PROMPT, negative_prompt=NEGATIVE, seed=SEED, steps=STEPS, cfg_scale=6.0, scheduler="euler",
                strength=STRENGTH)
    return GenerationRequest(**(base | kw))


def _picture(width: int, height: int) -> Image.Image:
    """A smooth upscaled-looking picture (a small random image enlarged with Lanczos)."""
    small = np.random.default_rng(5).integers(0, 256, (height // 4, width // 4, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((width, height), Image.Resampling.LANCZOS)


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB")).astype(np.float32)


@pytest.fixture(scope="module")
def img2img(tiny_sd_dir):
    """diffusers' own image-to-image on the tiny model: ``img2img(image, seed)``."""
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(tiny_sd_dir, local_files_only=True)
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)

    def run(image: Image.Image, seed: int) -> Image.Image:
        return pipe(prompt=PROMPT, negative_prompt=NEGATIVE, image=image, strength=STRENGTH, guidance_scale=6.0,
                    num_inference_steps=STEPS, generator=torch.Generator("cpu").manual_seed(seed)).images[0]

    return run


def test_one_tile_over_the_whole_picture_is_diffusers_image_to_image(sd_engine, img2img):
    picture = _picture(96, 64)
    result = sd_engine.refine(picture, _request(), TiledRefine(tile_width=96, tile_height=64, overlap=16))
    assert np.array_equal(_pixels(result.images[0]), _pixels(img2img(picture, SEED)))


def test_two_tiles_are_diffusers_image_to_image_each_cross_faded_over_the_overlap(sd_engine, img2img):
    picture = _picture(112, 64)  # two 64-pixel tiles at x = 0 and 48, sharing 16 columns
    result = _pixels(sd_engine.refine(picture, _request(), TiledRefine(tile_width=64, tile_height=64,
                                                                       overlap=16)).images[0])
    first = _pixels(img2img(picture.crop((0, 0, 64, 64)), SEED))
    after_first = np.asarray(picture).copy()
    after_first[:, :64] = first.astype(np.uint8)  # the first tile covers its box (nothing before it to fade into)
    second = _pixels(img2img(Image.fromarray(after_first).crop((48, 0, 112, 64)), SEED + 1))  # seed + tile index
    weight = tile_weights(tile_grid(112, 64, 64, 64, 16)[1], 16)[..., None]
    expected = first[:, :48], second[:, :16] * weight[:, :16] + first[:, 48:] * (1 - weight[:, :16]), second[:, 16:]
    assert np.array_equal(result[:, :48], expected[0])  # far from the seam: the first tile's own pixels
    assert np.array_equal(result[:, 64:], expected[2])  # and the second's
    assert np.abs(result[:, 48:64] - np.rint(expected[1])).max() <= 1
    # No seam: the largest step between neighbouring columns across the overlap is far below the jump a tile
    # laid edge to edge (no fade) would make there.
    hard_cut = np.abs(second[:, 8] - first[:, 56]).mean()
    steps = np.abs(np.diff(result[:, 46:66], axis=1)).mean(axis=(0, 2))
    assert steps.max() < hard_cut


def test_a_grid_gives_the_picture_size_one_progress_bar_and_whole_picture_previews(sd_engine):
    picture = _picture(150, 100)  # padded to 152x104 for the VAE, cropped back
    updates = []
    result = sd_engine.refine(picture, _request(seed=None), TiledRefine(tile_width=64, tile_height=64, overlap=16),
                              on_step=updates.append)
    (image,) = result.images
    assert image.size == (150, 100)
    tiles = len(tile_grid(152, 104, 64, 64, 16))
    assert tiles == 6
    assert [u.step for u in updates] == list(range(1, tiles * RUNS + 1))
    assert {u.total for u in updates} == {tiles * RUNS}
    assert {u.preview.shape for u in updates} == {(104, 152, 3)}  # the whole picture filling in
    assert not np.array_equal(updates[0].preview, updates[-1].preview)
    assert result.recipes[0].seed is not None


def test_cancel_in_a_later_tile_gives_nothing_and_the_engine_keeps_working(sd_engine):
    picture, token = _picture(112, 64), CancelToken()

    def cancel_in_the_second_tile(update):
        if update.step == RUNS + 1:
            token.cancel()

    with pytest.raises(GenerationCancelled):
        sd_engine.refine(picture, _request(), TiledRefine(tile_width=64, tile_height=64, overlap=16),
                         on_step=cancel_in_the_second_tile, cancel=token)
    assert sd_engine.refine(picture, _request(), TiledRefine(tile_width=64, tile_height=64, overlap=16)).images[0].size == (112, 64)


def test_the_recipe_records_the_pass_as_ultimate_sd_upscale_writes_it(sd_engine, tmp_path):
    tiling = TiledRefine(upscaler="Lanczos", scale=2.0, tile_width=64, tile_height=64, overlap=16)
    result = sd_engine.refine(_picture(112, 64), _request(), tiling)
    recipe = result.recipes[0]
    assert (recipe.mode, recipe.width, recipe.height, recipe.strength, recipe.seed) == ("img2img", 112, 64, 0.4, SEED)
    assert recipe.tiled_refine == tiling
    text = format_parameters(recipe)
    for field in ("Size: 112x64", "Denoising strength: 0.4", "Ultimate SD upscale upscaler: Lanczos",
                  "Ultimate SD upscale tile_width: 64", "Ultimate SD upscale tile_height: 64",
                  "Ultimate SD upscale padding: 16"):
        assert field in text
    path = write_image(tmp_path / "refined.png", result.images[0], recipe)
    assert read_recipe(path) == recipe
    with Image.open(path) as im:
        parsed = recipe_from_parameters(im.info[PARAMETERS_KEY])
    assert parsed.tiled_refine == TiledRefine(upscaler="Lanczos", tile_width=64, tile_height=64, overlap=16)
    assert (parsed.mode, parsed.strength) == ("img2img", 0.4)


def test_a_picture_or_tiles_that_cannot_work_are_one_sentence(sd_engine):
    with pytest.raises(StudioError, match="at least 64 pixels"):
        sd_engine.refine(_picture(200, 40), _request(), TiledRefine(tile_width=64, tile_height=64, overlap=8))
    with pytest.raises(StudioError, match="multiple of 8"):
        sd_engine.refine(_picture(200, 64), _request(), TiledRefine(tile_width=100, tile_height=64))
    with pytest.raises(StudioError, match="leave no step"):
        sd_engine.refine(_picture(64, 64), _request(steps=2, strength=0.3), TiledRefine())


def test_a_lora_in_the_prompt_refines_every_tile_and_is_recorded(sd_engine, tiny_sd_dir):
    kohya_lora(DiffusionPipeline.from_pretrained(tiny_sd_dir, local_files_only=True),
               models_dir() / "loras" / "ink.safetensors", seed=1)
    picture, tiling = _picture(112, 64), TiledRefine(tile_width=64, tile_height=64, overlap=16)
    off = sd_engine.refine(picture, _request(prompt=f"{PROMPT} <lora:ink:0>"), tiling)
    on = sd_engine.refine(picture, _request(prompt=f"{PROMPT} <lora:ink:1>"), tiling)
    assert on.recipes[0].lora_hashes.startswith("ink: ")
    changed = np.abs(_pixels(on.images[0]) - _pixels(off.images[0])).mean(axis=(0, 2))
    assert changed[:48].mean() > 1 and changed[64:].mean() > 1  # in both tiles
