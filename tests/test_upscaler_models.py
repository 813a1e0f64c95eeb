"""Upscaler models through spandrel, on tiny random-weight ESRGAN-family models built here.

spandrel needs a torchvision that matches torch, so these run in the upscalers environment
(``make test-upscalers``); elsewhere they are skipped and tests/test_upscalers.py covers what needs no spandrel.
"""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from studio.core.errors import StudioError
from studio.core.hires import HiresPass
from studio.core.metadata import read_recipe
from studio.core.outputs import write_image
from studio.core.paths import models_dir
from studio.core.request import GenerationRequest

spandrel = pytest.importorskip("spandrel", reason="spandrel (the 'upscalers' extra) is not installed here")

from safetensors.torch import save_file  # noqa: E402
from spandrel.architectures.Compact import Compact  # noqa: E402
from spandrel.architectures.ESRGAN import ESRGAN  # noqa: E402

from studio import cli  # noqa: E402
from studio.engine.devices import choose_device  # noqa: E402
from studio.engine.engine import Engine  # noqa: E402
from studio.engine.upscalers import UpscalerModel  # noqa: E402

CPU = choose_device("cpu")


def _noise(w: int, h: int, seed: int = 1) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


def _compact_file(name: str = "2x-tiny-compact.safetensors") -> Path:
    """A tiny Real-ESRGAN "Compact" (SRVGGNetCompact) x2 in the upscalers folder, as safetensors."""
    torch.manual_seed(0)
    net = Compact(num_feat=8, num_conv=2, upscale=2)
    folder = models_dir() / "upscalers"
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, folder / name)
    return folder / name


def _esrgan_file() -> Path:
    """A tiny ESRGAN (RRDBNet) x4 as a weights-only .pth in A1111's folder name."""
    torch.manual_seed(1)
    net = ESRGAN(num_filters=8, num_blocks=1, scale=4)
    folder = models_dir() / "ESRGAN"
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), folder / "4x-tiny-esrgan.pth")
    return folder / "4x-tiny-esrgan.pth"


def _one_pass(model: UpscalerModel, image: Image.Image) -> np.ndarray:
    return np.asarray(model.upscale(image, tile=4096, overlap=0), np.float32)


def test_a_compact_model_is_detected_and_tiles_equal_one_pass():
    model = UpscalerModel.load(_compact_file(), CPU)
    assert model.scale == 2
    image = _noise(90, 70)
    tiled = np.asarray(model.upscale(image, tile=32, overlap=16), np.float32)
    assert tiled.shape == (140, 180, 3)
    assert np.abs(tiled - _one_pass(model, image)).max() <= 1  # rounding to 8 bits, nothing more


def test_an_esrgan_pth_loads_weights_only_and_tiles_stay_close_to_one_pass():
    model = UpscalerModel.load(_esrgan_file(), CPU)
    assert model.scale == 4
    image = _noise(96, 80, seed=2)
    tiled = np.asarray(model.upscale(image, tile=48, overlap=16), np.float32)  # 2 x 3 tiles
    whole = _one_pass(model, image)
    assert tiled.shape == whole.shape == (320, 384, 3) and whole.std() > 5  # not a flat picture
    difference = np.abs(tiled - whole)
    assert difference.mean() < 0.05 and difference.max() <= 2, (difference.mean(), difference.max())


def test_a_model_that_is_not_an_upscaler_is_one_sentence(tmp_path):
    path = tmp_path / "random.safetensors"
    save_file({"some.weight": torch.ones(3, 3)}, path)
    with pytest.raises(StudioError, match="^'random.safetensors' is not an upscaler model that spandrel recognises."):
        UpscalerModel.load(path, CPU)


def test_studio_upscale_writes_the_upscaled_png(tmp_path, capsys):
    _compact_file()
    _noise(40, 30).save(tmp_path / "in.png")
    out = tmp_path / "out.png"
    assert cli.main(["upscale", str(tmp_path / "in.png"), "--upscaler", "2x-tiny-compact", "--device", "cpu",
                     "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert Image.open(out).size == (80, 60)
    assert cli.main(["upscale", str(tmp_path / "in.png"), "--upscaler", "2x-tiny-compact", "--scale", "3",
                     "--device", "cpu", "--out", str(out)]) == 0
    assert Image.open(out).size == (120, 90)


class Payload:
    """Stands for code hidden in a pickle."""


def test_studio_upscale_refuses_a_pth_with_code(tmp_path, capsys):
    path = tmp_path / "sneaky.pth"
    torch.save({"weights": torch.ones(1), "payload": Payload()}, path)
    _noise(8, 8).save(tmp_path / "in.png")
    out = tmp_path / "out.png"
    assert cli.main(["upscale", str(tmp_path / "in.png"), "--upscaler", str(path), "--device", "cpu",
                     "--out", str(out)]) == 2
    assert "contains code besides weights" in capsys.readouterr().err
    assert not out.exists()


def test_hires_fix_with_an_upscaler_model_refines_its_output(tiny_sd_dir, tmp_path):
    _compact_file()
    engine = Engine("cpu", previews="off")
    engine.load(str(tiny_sd_dir))
    request = GenerationRequest("a lighthouse", seed=4, steps=2, width=64, height=64, scheduler="euler",
                                hires=HiresPass(scale=2, strength=0.5, steps=1, upscaler="2x-tiny-compact"))
    result = engine.generate(request)
    assert result.images[0].size == (128, 128)
    lanczos = engine.generate(replace(request, hires=replace(request.hires, upscaler="Lanczos")))
    assert not np.array_equal(np.asarray(result.images[0]), np.asarray(lanczos.images[0]))
    saved = write_image(tmp_path / "out.png", result.images[0], result.recipes[0])
    assert read_recipe(saved).hires.upscaler == "2x-tiny-compact"
    assert "Hires upscaler: 2x-tiny-compact" in Image.open(saved).info["parameters"]
