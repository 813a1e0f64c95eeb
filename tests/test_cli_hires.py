"""``studio generate`` with hires fix: the flags, the output size and the recorded parameters."""

from pathlib import Path

import pytest
from PIL import Image

from studio import cli
from studio.core.hires import HiresPass
from studio.core.metadata import PARAMETERS_KEY, read_recipe
from studio.core.paths import outputs_dir


def _gen(model: Path, *extra: str) -> list[str]:
    return ["generate", "--model", str(model), "--prompt", "a lighthouse", "--steps", "2", "--width", "64",
            "--height", "64", "--device", "cpu", "--seed", "3", *extra]


def test_hires_scale_doubles_the_size_and_records_the_pass(tiny_sd_dir, tmp_path, capsys):
    out = tmp_path / "big.png"
    assert cli.main(_gen(tiny_sd_dir, "--hires-scale", "2", "--hires-strength", "0.6", "--hires-steps", "2",
                         "--upscaler", "Lanczos", "--scheduler", "euler", "--out", str(out))) == 0
    progress = capsys.readouterr().err
    assert [f"step {n}/4" in progress for n in range(1, 5)] == [True] * 4  # one progress bar over both passes
    assert progress.count("/") == 4
    with Image.open(out) as image:
        assert image.size == (128, 128)
        parameters = image.info[PARAMETERS_KEY]
    for field in ("Size: 64x64", "Denoising strength: 0.6", "Hires upscale: 2", "Hires steps: 2",
                  "Hires upscaler: Lanczos"):
        assert field in parameters
    assert read_recipe(out).hires == HiresPass(scale=2, strength=0.6, steps=2, upscaler="Lanczos")


def test_hires_size_gives_the_final_size_and_a_hires_prompt(tiny_sd_dir, tmp_path):
    out = tmp_path / "wide.png"
    assert cli.main(_gen(tiny_sd_dir, "--hires-size", "128x96", "--hires-steps", "1", "--hires-prompt",
                         "crisp, detailed", "--hires-scheduler", "ddim", "--out", str(out))) == 0
    assert Image.open(out).size == (128, 96)
    hires = read_recipe(out).hires
    assert (hires.width, hires.height, hires.prompt, hires.scheduler, hires.upscaler) == (
        128, 96, "crisp, detailed", "ddim", "Latent")


def test_hires_tuning_without_turning_it_on_is_one_sentence_and_writes_nothing(tiny_sd_dir, capsys):
    assert cli.main(_gen(tiny_sd_dir, "--hires-steps", "5")) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --hires-steps needs --hires-scale or --hires-size (they turn hires fix on).")
    assert list(outputs_dir().glob("*.png")) == []


def test_impossible_hires_values_are_refused_before_the_model_loads(tiny_sd_dir, tmp_path, capsys, monkeypatch):
    import studio.engine.engine as engine_module

    monkeypatch.setattr(engine_module.Engine, "load", lambda *a, **k: pytest.fail("the model was loaded"))
    assert cli.main(_gen(tiny_sd_dir, "--hires-scale", "9")) == 2
    assert capsys.readouterr().err.strip() == "error: Hires scale must be between 1 and 4 (got 9)."
    assert cli.main(_gen(tiny_sd_dir, "--hires-size", "128x100")) == 2
    assert capsys.readouterr().err.strip() == "error: Hires height must be a multiple of 8 (got 100)."
    image = tmp_path / "in.png"
    Image.new("RGB", (64, 64)).save(image)
    assert cli.main(_gen(tiny_sd_dir, "--hires-scale", "2", "--image", str(image))) == 2
    assert "Hires fix is for text-to-image" in capsys.readouterr().err
