"""``studio generate`` refuses bad arguments before it imports torch; ``studio info`` prints crafted metadata
harmlessly; ``--out`` picks the format by extension. Crafted files come from tests/bad_inputs.py."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio import cli
from studio.core.metadata import read_recipe
from tests import bad_inputs

_RUN_ONE = textwrap.dedent("""
    import contextlib, io, json, shutil, sys
    from collections import namedtuple
    from studio import cli

    args, disk_full = json.loads(sys.argv[1]), sys.argv[2] == "1"
    if disk_full:  # the one fake here: a real full disk cannot be made without privileges
        Usage = namedtuple("Usage", "total used free")
        shutil.disk_usage = lambda path: Usage(10**9, 10**9 - 4096, 4096)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = cli.main([a.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape") for a in args])
    print(json.dumps({"rc": rc, "torch": "torch" in sys.modules, "err": err.getvalue()}))
""")


def _refused(args: list[str], disk_full: bool = False) -> dict:
    """Run ``studio`` with ``args`` in a fresh interpreter; what it returned, printed, and whether torch loaded."""
    proc = subprocess.run([sys.executable, "-c", _RUN_ONE, json.dumps(args), "1" if disk_full else "0"],
                          capture_output=True, text=True, timeout=120, env=os.environ)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _read_only_folder(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o500)
        return folder
    if Path("/sys").is_dir():  # root writes anywhere except filesystems that refuse everyone
        return Path("/sys")
    pytest.skip("no read-only folder available")


def _cases(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    image = tmp_path / "photo.png"
    Image.new("RGB", (64, 64), "blue").save(image)
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    pickled = tmp_path / "model.ckpt"
    pickled.write_bytes(b"\x80\x04")
    return {
        "no step left": (["--image", str(image), "--steps", "1", "--strength", "0.5"],
                         "At strength 0.5, 1 step(s) leave no step to run; use at least 2 steps"),
        "width 0": (["--width", "0"], "Width must be between 64 and 4096 pixels (got 0)."),
        "height 0": (["--height", "0"], "Height must be between 64 and 4096 pixels (got 0)."),
        "prompt not UTF-8": (["--prompt", os.fsdecode(b"caf\xe9 au lait")], "not valid UTF-8"),
        "all-black mask": (["--image", str(image), "--mask", str(bad_inputs.all_black_mask(tmp_path / "m.png",
                                                                                          (64, 64)))],
                           "The mask 'm.png' is all black"),
        "missing model": (["--model", str(tmp_path / "nope")], "No model found"),
        "pickle": (["--model", str(pickled)], "'model.ckpt' is a pickle checkpoint"),
        "out is a folder": (["--out", str(tmp_path)], "is a folder"),
        "out is .": (["--out", "."], "'.' is a folder; give a file name inside it, such as 'image.png'."),
        "out under a file": (["--out", str(a_file / "sub" / "x.png")], "'a-file' is a file, not a folder"),
        "unknown extension": (["--out", str(tmp_path / "x.bmp")], "'x.bmp' must end in .png, .jpg, .jpeg or .webp"),
        "read-only folder": (["--out", str(_read_only_folder(tmp_path) / "x.png")], "cannot be written"),
    }


@pytest.mark.parametrize("case", ["no step left", "width 0", "height 0", "prompt not UTF-8", "all-black mask",
                                  "missing model", "pickle", "out is a folder", "out is .", "out under a file",
                                  "unknown extension", "read-only folder"])
def test_bad_arguments_are_refused_before_torch_is_imported(case, tmp_path):
    extra, expected = _cases(tmp_path)[case]
    model = tmp_path / "model"
    model.mkdir()
    args = ["generate", "--model", str(model), "--prompt", "a cat", "--out", str(tmp_path / "out.png")]
    for flag, value in zip(extra[::2], extra[1::2]):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    result = _refused(args)
    assert result["rc"] == 2 and not result["torch"]
    assert result["err"].startswith("error: ") and expected in result["err"]
    assert result["err"].count("\n") == 1 and "unexpected" not in result["err"]
    assert not (tmp_path / "out.png").exists()


def test_a_disk_without_room_is_refused_before_torch_is_imported(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    result = _refused(["generate", "--model", str(model), "--prompt", "a cat", "--out", str(tmp_path / "o.png")],
                      disk_full=True)
    assert result["rc"] == 2 and not result["torch"]
    assert "the disk has 4 KiB free" in result["err"] and result["err"].count("\n") == 1


def test_info_escapes_terminal_sequences(tmp_path, capsys):
    path = bad_inputs.png_with_text(tmp_path / "attack.png", {"parameters": bad_inputs.TERMINAL_ATTACK})
    assert cli.main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in "\x1b\x07\x9b\u202e")
    assert out.startswith("a cat\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202egnp.exe\n")
    assert "Sampler: Euler\\x1b[8m" in out


@pytest.mark.parametrize("case", ["text for a number", "lone surrogate", "integer with hundreds of digits"])
def test_info_prints_a_recipe_with_wrong_values_and_names_them(case, tmp_path, capsys):
    field, value = bad_inputs.WRONG_VALUES[case]
    chunk = bad_inputs.recipe_json_with(field, value)
    path = bad_inputs.png_with_text(tmp_path / "crafted.png", {"latent-studio": chunk})
    assert cli.main(["info", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "Seed: " in out and "Steps: " in out
    assert err == f"note: unusable values left out: {field}\n"


def test_info_on_deeply_nested_json_is_one_sentence(tmp_path, capsys):
    path = bad_inputs.png_with_text(tmp_path / "deep.png", {"latent-studio": bad_inputs.deeply_nested_json()})
    assert cli.main(["info", str(path)]) == 2
    assert capsys.readouterr().err == "error: 'deep.png' carries no generation recipe.\n"


def _gen(model: Path, *extra: str) -> list[str]:
    return ["generate", "--model", str(model), "--prompt", "a lighthouse", "--steps", "2", "--seed", "3",
            "--device", "cpu", *extra]


@pytest.mark.parametrize("suffix, fmt", [(".jpg", "JPEG"), (".webp", "WEBP"), (".PNG", "PNG")])
def test_out_extension_chooses_the_format_and_the_recipe_goes_with_it(suffix, fmt, tiny_sd_dir, tmp_path, capsys):
    out = tmp_path / f"result{suffix}"
    assert cli.main(_gen(tiny_sd_dir, "--width", "64", "--height", "64", "--out", str(out))) == 0
    assert capsys.readouterr().out.split() == [str(out)]
    with Image.open(out) as im:
        assert im.format == fmt and im.size == (64, 64)
    recipe = read_recipe(out)
    assert (recipe.prompt, recipe.seed, recipe.steps) == ("a lighthouse", 3, 2)
    assert cli.main(["info", str(out)]) == 0
    assert "Seed: 3" in capsys.readouterr().out


def test_a_very_wide_source_is_fitted_not_refused(tiny_sd_dir, tmp_path, capsys):
    src = bad_inputs.wide_image(tmp_path / "strip.png", (16000, 50))
    out = tmp_path / "out.png"
    assert cli.main(_gen(tiny_sd_dir, "--image", str(src), "--strength", "0.5",
                         "--out", str(out))) == 0, capsys.readouterr().err
    with Image.open(out) as im:
        assert im.size == (16000, 50)
    recipe = read_recipe(out)
    assert (recipe.width, recipe.height) == (4096, 64) and recipe.mode == "img2img"
    assert not np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(src)))
