"""The headless CLI: real engine on tiny models, outputs with metadata, one clear sentence on bad input."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio import cli
from studio.core.metadata import read_recipe
from studio.core.paths import outputs_dir


def _run(*args: str) -> int:
    return cli.main(list(args))


def _gen(model: Path, *extra: str) -> list[str]:
    return ["generate", "--model", str(model), "--prompt", "a lighthouse at dusk", "--steps", "3",
            "--width", "64", "--height", "64", "--device", "cpu", *extra]


def test_generate_writes_png_with_recipe_to_outputs(tiny_sd_dir, capsys):
    assert _run(*_gen(tiny_sd_dir, "--seed", "5", "--cfg", "4.5", "--negative", "fog",
                      "--scheduler", "euler_a")) == 0
    out, err = capsys.readouterr()
    path = Path(out.strip())
    assert path.parent == outputs_dir() and path.is_file()
    assert "step 3/3" in err
    recipe = read_recipe(path)
    assert (recipe.prompt, recipe.negative_prompt, recipe.seed, recipe.steps, recipe.cfg_scale) == (
        "a lighthouse at dusk", "fog", 5, 3, 4.5)
    assert recipe.sampler == "Euler a" and recipe.model == tiny_sd_dir.name
    assert Image.open(path).text["parameters"].startswith("a lighthouse at dusk\nNegative prompt: fog\n")


def test_generate_batch_to_explicit_path_and_info(tiny_sd_dir, tmp_path, capsys):
    out = tmp_path / "fox.png"
    assert _run(*_gen(tiny_sd_dir, "--seed", "9", "--batch", "2", "--out", str(out))) == 0
    paths = capsys.readouterr().out.split()
    assert paths == [str(tmp_path / "fox-1.png"), str(tmp_path / "fox-2.png")]
    assert [read_recipe(p).seed for p in paths] == [9, 10]
    assert _run("info", paths[1]) == 0
    printed = capsys.readouterr().out
    assert "Seed: 10" in printed and "Steps: 3" in printed


def test_same_seed_same_pixels(tiny_sd_dir, tmp_path):
    for name in ("a.png", "b.png"):
        assert _run(*_gen(tiny_sd_dir, "--seed", "3", "--out", str(tmp_path / name))) == 0
    a, b = (np.asarray(Image.open(tmp_path / n)) for n in ("a.png", "b.png"))
    assert np.array_equal(a, b)


def test_inpaint_from_files(tiny_sd_dir, tmp_path):
    src = Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    src.save(tmp_path / "src.png")
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (8, 8, 24, 24))
    mask.save(tmp_path / "mask.png")
    out = tmp_path / "out.png"
    assert _run(*_gen(tiny_sd_dir, "--image", str(tmp_path / "src.png"), "--mask", str(tmp_path / "mask.png"),
                      "--feather", "2", "--out", str(out))) == 0
    result, source = np.asarray(Image.open(out).convert("RGB")), np.asarray(src)
    assert np.array_equal(result[40:, 40:], source[40:, 40:])
    assert not np.array_equal(result[8:24, 8:24], source[8:24, 8:24])
    assert read_recipe(out).mode == "inpaint"


@pytest.mark.parametrize("family", ["sd", "sd_inpaint", "sdxl"])
def test_single_file_checkpoint_loads_offline_and_matches_the_folder(family, request):
    # Tiny checkpoints are not the stock architectures, so their own folder is passed as the config.
    from studio.core.request import GenerationRequest
    from studio.engine.engine import Engine

    folder, ckpt = request.getfixturevalue(f"tiny_{family}_dir"), request.getfixturevalue(f"tiny_{family}_checkpoint")
    req = GenerationRequest(prompt="a boat", seed=4, steps=2, width=64, height=64)
    from_file, from_folder = Engine("cpu"), Engine("cpu")
    info = from_file.load(str(ckpt), config_dir=folder)
    from_folder.load(str(folder))
    assert info.family.value == ("sdxl" if family == "sdxl" else "sd1") and len(info.model_hash) == 10
    assert info.inpaint_unet == (family == "sd_inpaint")
    a, b = from_file.generate(req).images[0], from_folder.generate(req).images[0]
    assert np.array_equal(np.asarray(a), np.asarray(b))


def _bad_input_cases(tmp_path: Path, model: Path):
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    broken = tmp_path / "broken.png"
    Image.new("RGB", (64, 64), "red").save(broken)
    broken.write_bytes(broken.read_bytes()[:60])
    img = tmp_path / "img.png"
    Image.new("RGB", (64, 64), "blue").save(img)
    small_mask = tmp_path / "small_mask.png"
    Image.new("L", (32, 32), 255).save(small_mask)
    bad_model = tmp_path / "bad.safetensors"
    bad_model.write_bytes(b"\x00" * 100)
    pickled = tmp_path / "model.ckpt"
    pickled.write_bytes(b"\x80\x04")
    return {
        "missing model": (["--model", str(tmp_path / "nope")], "No model found"),
        "corrupt model": (["--model", str(bad_model)], "not a valid .safetensors"),
        "pickle model": (["--model", str(pickled)], "pickle checkpoint"),
        "text as image": (["--image", str(text)], "notes.txt"),
        "empty image": (["--image", str(empty)], "empty.png"),
        "truncated image": (["--image", str(broken)], "broken.png"),
        "mask size": (["--image", str(img), "--mask", str(small_mask)], "32x32"),
        "zero steps": (["--steps", "0"], "Steps must be"),
        "size not multiple of 8": (["--width", "100"], "multiple of 8"),
        "unknown scheduler": (["--scheduler", "warp"], "Unknown scheduler"),
        "int8 without openvino": (["--openvino-weights", "int8", "--backend", "torch"],
                                  "--openvino-weights int8 is for the OpenVINO backend"),
        "fast precision without openvino": (["--openvino-precision", "fast", "--backend", "torch"],
                                            "--openvino-precision fast is for the OpenVINO backend"),
    }


@pytest.mark.parametrize("case", ["missing model", "corrupt model", "pickle model", "text as image", "empty image",
                                  "truncated image", "mask size", "zero steps", "size not multiple of 8",
                                  "unknown scheduler", "int8 without openvino", "fast precision without openvino"])
def test_bad_input_is_one_sentence_and_writes_nothing(case, tiny_sd_dir, tmp_path, capsys):
    extra, expected = _bad_input_cases(tmp_path, tiny_sd_dir)[case]
    args = _gen(tiny_sd_dir, "--out", str(tmp_path / "out.png"))
    for flag, value in zip(extra[::2], extra[1::2]):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    assert _run(*args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and expected in err
    assert "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "out.png").exists()
    assert not any(outputs_dir().iterdir())


def test_entry_point_exit_code_and_log(tiny_sd_dir, tmp_path):
    env = {**os.environ, "STUDIO_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-m", "studio", *_gen(tmp_path / "missing")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: No model found") and "Traceback" not in proc.stderr
    assert (tmp_path / "home" / "logs" / "studio.log").is_file()


@pytest.mark.parametrize("only_masked", [False, True])
def test_odd_sized_image_comes_back_at_its_own_size_with_unmasked_pixels_intact(tiny_sd_dir, tmp_path, only_masked):
    src = Image.fromarray(np.random.default_rng(2).integers(0, 256, (150, 203, 3), dtype=np.uint8))
    src.save(tmp_path / "src.png")
    mask = Image.new("L", src.size, 0)
    mask.paste(255, (100, 60, 130, 90))
    mask.save(tmp_path / "mask.png")
    out = tmp_path / "out.png"
    args = ["generate", "--model", str(tiny_sd_dir), "--prompt", "a cat", "--steps", "2", "--device", "cpu",
            "--image", str(tmp_path / "src.png"), "--mask", str(tmp_path / "mask.png"), "--feather", "2",
            "--out", str(out)] + (["--only-masked"] if only_masked else [])
    assert _run(*args) == 0
    result, source = np.asarray(Image.open(out).convert("RGB")), np.asarray(src)
    assert result.shape == source.shape
    far = np.ones(source.shape[:2], bool)
    far[40:110, 80:150] = False
    assert np.array_equal(result[far], source[far])
    assert not np.array_equal(result[60:90, 100:130], source[60:90, 100:130])


def test_openvino_fast_precision_from_the_cli_is_recorded_in_the_png(tiny_sd_dir, tmp_path, capsys):
    openvino = pytest.importorskip("openvino", reason="OpenVINO is an optional extra")
    exact, fast = tmp_path / "exact.png", tmp_path / "fast.png"
    assert _run(*_gen(tiny_sd_dir, "--seed", "4", "--backend", "openvino", "--out", str(exact))) == 0
    assert "Converting the UNet for OpenVINO" in capsys.readouterr().err

    assert _run(*_gen(tiny_sd_dir, "--seed", "4", "--backend", "openvino", "--openvino-precision", "fast",
                      "--out", str(fast))) == 0

    assert "Converting" not in capsys.readouterr().err  # the same conversion, compiled in another precision
    bf16 = "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    assert read_recipe(fast).openvino_precision == ("bf16" if bf16 else "")
    assert read_recipe(exact).openvino_precision == ""
    assert ("OpenVINO precision: bf16" in Image.open(fast).text["parameters"]) == bf16
