"""The CLI's prompt options: --clip-skip recorded, a note for AND (read but not run), LoRA tags refused."""

from pathlib import Path

from studio import cli
from studio.core.metadata import read_recipe
from studio.core.paths import outputs_dir


def _gen(model: Path, prompt: str, *extra: str) -> list[str]:
    return ["generate", "--model", str(model), "--prompt", prompt, "--steps", "2", "--width", "64",
            "--height", "64", "--device", "cpu", "--seed", "3", *extra]


def test_clip_skip_and_a_weighted_long_prompt_are_recorded(tiny_sd_dir, capsys):
    prompt = "(a lighthouse:1.2), " + "dusk " * 30
    assert cli.main(_gen(tiny_sd_dir, prompt, "--clip-skip", "2")) == 0
    path = Path(capsys.readouterr().out.strip())
    recipe = read_recipe(path)
    assert (recipe.prompt, recipe.clip_skip) == (prompt, 2)
    assert cli.main(["info", str(path)]) == 0
    assert "Clip skip: 2" in capsys.readouterr().out


def test_and_prints_a_note_and_still_generates(tiny_sd_dir, capsys):
    assert cli.main(_gen(tiny_sd_dir, "a [cat:dog:0.5] AND a box")) == 0
    out, err = capsys.readouterr()
    assert err.count("note: ") == 1 and "note: AND (composable prompts) is not supported yet" in err
    assert Path(out.strip()).is_file()


def test_unknown_or_unsupported_tags_and_bad_clip_skip_are_one_sentence_and_write_nothing(tiny_sd_dir, capsys):
    for args, expected in ((_gen(tiny_sd_dir, "a fox <lora:film:0.8>"), "the LoRA 'film'"),
                           (_gen(tiny_sd_dir, "a fox <hypernet:film:0.8>"), "<hypernet:film:0.8>"),
                           (_gen(tiny_sd_dir, "a fox", "--clip-skip", "0"), "Clip skip must be between 1 and 12")):
        assert cli.main(args) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and expected in err and "\n" not in err
    assert not any(outputs_dir().iterdir())
