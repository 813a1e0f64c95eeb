"""``studio upscale`` with the built-in resizers and the refine pass (``--model``), on the tiny SD model."""

from pathlib import Path

import numpy as np
from PIL import Image

from studio import cli
from studio.core.metadata import PARAMETERS_KEY, read_recipe
from studio.core.outputs import write_image
from studio.core.recipe import Recipe
from studio.core.tiles import TiledRefine


def _photo(path: Path, size=(48, 32), recipe: Recipe | None = None) -> Path:
    pixels = np.random.default_rng(2).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    if recipe is not None:
        return write_image(path, image, recipe)
    image.save(path)
    return path


def test_lanczos_upscale_needs_no_upscaler_model(tmp_path):
    out = tmp_path / "big.png"
    assert cli.main(["upscale", str(_photo(tmp_path / "in.png")), "--upscaler", "Lanczos", "--scale", "2.5",
                     "--device", "cpu", "--out", str(out)]) == 0
    with Image.open(out) as image:
        assert image.size == (120, 80) and PARAMETERS_KEY not in image.info


def test_refine_after_a_lanczos_upscale_writes_the_picture_with_its_recipe(tiny_sd_dir, tmp_path, capsys):
    made = Recipe(prompt="a quiet harbour", negative_prompt="blurry", seed=1, steps=20, cfg_scale=7, width=48,
                  height=32, sampler="Euler", model="tiny")
    source, out = _photo(tmp_path / "in.png", recipe=made), tmp_path / "refined.png"
    assert cli.main(["upscale", str(source), "--upscaler", "Lanczos", "--scale", "3", "--model", str(tiny_sd_dir),
                     "--refine-strength", "0.4", "--steps", "5", "--tile", "64", "--overlap", "16", "--seed", "9",
                     "--scheduler", "euler", "--device", "cpu", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "step 12/12" in err  # 144x96: 3 x 2 tiles of 64 pixels, 2 steps each
    with Image.open(out) as image:
        assert image.size == (144, 96)
        parameters = image.info[PARAMETERS_KEY]
    for field in ("Size: 144x96", "Denoising strength: 0.4", "Seed: 9", "Ultimate SD upscale upscaler: Lanczos",
                  "Ultimate SD upscale tile_width: 64", "Ultimate SD upscale padding: 16"):
        assert field in parameters
    recipe = read_recipe(out)
    assert (recipe.prompt, recipe.negative_prompt) == ("a quiet harbour", "blurry")  # taken from the input
    assert recipe.tiled_refine == TiledRefine(upscaler="Lanczos", scale=3.0, tile_width=64, tile_height=64, overlap=16)
    upscaled = np.asarray(Image.open(source).resize((144, 96), Image.Resampling.LANCZOS), np.int16)
    assert np.abs(np.asarray(Image.open(out), np.int16) - upscaled).mean() > 1  # the model did change it


def test_refine_flags_without_a_model_or_with_bad_values_are_one_sentence_and_write_nothing(tiny_sd_dir, tmp_path,
                                                                                           capsys):
    source, out = _photo(tmp_path / "in.png"), tmp_path / "out.png"
    base = ["upscale", str(source), "--upscaler", "Lanczos", "--device", "cpu", "--out", str(out)]
    assert cli.main([*base, "--refine-strength", "0.3"]) == 2
    assert capsys.readouterr().err.strip() == "error: --refine-strength needs --model (it turns the refine pass on)."
    assert cli.main([*base, "--model", str(tiny_sd_dir), "--tile", "100"]) == 2
    assert capsys.readouterr().err.strip() == "error: The tile width must be a multiple of 8 (got 100)."
    assert cli.main([*base, "--model", str(tiny_sd_dir), "--refine-strength", "1.5"]) == 2
    assert "Strength must be above 0 and at most 1" in capsys.readouterr().err
    assert not out.exists()
