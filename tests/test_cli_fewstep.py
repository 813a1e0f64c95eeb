"""``studio generate --preset``: a few-step model's sampler, steps and CFG, which explicit flags still override;
and the note that tells a user their model is one."""

import shutil
from pathlib import Path

import pytest

from studio import cli
from studio.core.metadata import read_recipe


def _gen(model: Path, out: Path, *extra: str) -> list[str]:
    return ["generate", "--model", str(model), "--prompt", "a lighthouse at dusk", "--width", "64", "--height", "64",
            "--seed", "3", "--device", "cpu", "--out", str(out), *extra]


def test_preset_sets_sampler_steps_and_cfg_and_flags_still_win(tiny_sd_dir, tmp_path, capsys):
    assert cli.main(_gen(tiny_sd_dir, tmp_path / "lcm.png", "--preset", "lcm")) == 0
    recipe = read_recipe(tmp_path / "lcm.png")
    assert (recipe.sampler, recipe.steps, recipe.cfg_scale) == ("LCM", 4, 1.0)
    assert cli.main(_gen(tiny_sd_dir, tmp_path / "turbo.png", "--preset", "turbo", "--steps", "2")) == 0
    recipe = read_recipe(tmp_path / "turbo.png")
    assert (recipe.sampler, recipe.steps, recipe.cfg_scale) == ("Euler a Trailing", 2, 0.0)
    assert "note:" not in capsys.readouterr().err  # the tiny model is no few-step model


def test_without_a_preset_the_defaults_stay(tiny_sd_dir, tmp_path):
    assert cli.main(_gen(tiny_sd_dir, tmp_path / "plain.png", "--steps", "2")) == 0
    recipe = read_recipe(tmp_path / "plain.png")
    assert (recipe.steps, recipe.cfg_scale, recipe.sampler) == (2, 7.0, "PLMS")


def test_a_few_step_model_gets_a_note_naming_its_preset(tiny_sd_dir, tmp_path, capsys):
    model = tmp_path / "tiny-lcm-model"
    shutil.copytree(tiny_sd_dir, model)
    assert cli.main(_gen(model, tmp_path / "a.png", "--steps", "2")) == 0
    err = capsys.readouterr().err
    assert ("note: This looks like an LCM model (going by its name 'tiny-lcm-model'); --preset lcm uses LCM, 4 steps, "
            "CFG 1.") in err


def test_an_unknown_preset_is_refused_by_the_parser(tiny_sd_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(_gen(tiny_sd_dir, tmp_path / "x.png", "--preset", "warp"))
    assert exit_.value.code == 2
    assert "invalid choice: 'warp'" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
