"""Upscaler plumbing that needs no spandrel: the model folders, weights-only loading, tiling with overlap."""

import importlib.util

import numpy as np
import pytest
import torch
from PIL import Image

from studio.core.cancel import CancelToken
from studio.core.errors import GenerationCancelled, StudioError
from studio.core.paths import models_dir
from studio.core.upscaler_files import find_upscalers, resolve_upscaler
from studio.engine import upscalers


def _spandrel_usable() -> bool:
    try:
        return importlib.util.find_spec("spandrel") is not None and __import__("spandrel") is not None
    except (ImportError, RuntimeError):
        return False


def _local_net(scale: int) -> torch.nn.Module:
    """A random convolutional upscaler that sees 2 pixels around each one (two 3x3 convolutions)."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.Conv2d(8, 3 * scale * scale, 3, padding=1),
                               torch.nn.PixelShuffle(scale)).eval()


def test_tiles_with_overlap_equal_one_pass():
    net, pixels = _local_net(2), torch.rand(1, 3, 70, 100)
    with torch.inference_mode():
        whole = net(pixels)
        tiles = upscalers.tiled(net, pixels, 2, tile=32, overlap=16)
    assert tiles.shape == (1, 3, 140, 200)
    assert torch.allclose(tiles, whole, atol=1e-5)


def test_tiling_reports_progress_and_stops_on_cancel():
    net, pixels, seen = _local_net(2), torch.rand(1, 3, 40, 60), []
    with torch.inference_mode():
        upscalers.tiled(net, pixels, 2, tile=24, overlap=8, on_progress=lambda done, total: seen.append((done, total)))
        assert seen == [(n, 8) for n in range(1, 9)]  # 2 rows x 4 columns of 24 pixels sharing 8 or more
        token = CancelToken()
        with pytest.raises(GenerationCancelled):
            upscalers.tiled(net, pixels, 2, tile=24, overlap=8, cancel=token,
                            on_progress=lambda done, total: token.cancel())


def test_upscalers_are_found_in_ours_a1111s_and_comfyuis_folders(tmp_path):
    ours, a1111 = models_dir() / "upscalers", models_dir() / "ESRGAN"
    comfy = tmp_path / "ComfyUI" / "models" / "upscale_models"
    for folder, name in ((ours, "4x-ours.safetensors"), (a1111, "4x-ours.pth"), (a1111, "RealESRGAN_x4plus.pth"),
                         (comfy, "2x-comfy.safetensors"), (comfy, "notes.txt")):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"")
    found = find_upscalers([comfy.parent])
    assert found == {"4x-ours": ours / "4x-ours.safetensors", "RealESRGAN_x4plus": a1111 / "RealESRGAN_x4plus.pth",
                     "2x-comfy": comfy / "2x-comfy.safetensors"}
    assert resolve_upscaler("RealESRGAN_x4plus") == a1111 / "RealESRGAN_x4plus.pth"
    assert resolve_upscaler(str(comfy / "2x-comfy.safetensors")) == comfy / "2x-comfy.safetensors"
    with pytest.raises(StudioError) as caught:
        resolve_upscaler("4x-missing")
    assert str(caught.value) == (f"No upscaler model named '4x-missing'; put .pth or .safetensors files in {ours} "
                                 "(found: 4x-ours, RealESRGAN_x4plus).")


class Payload:
    """Stands for code hidden in a pickle: a weights-only load must not build it."""


def test_a_pth_with_more_than_weights_is_refused_unless_pickle_is_allowed(tmp_path):
    path = tmp_path / "sneaky.pth"
    torch.save({"conv.weight": torch.ones(2, 2), "extra": Payload()}, path)
    with pytest.raises(StudioError) as caught:
        upscalers.load_state_dict(path)
    assert str(caught.value) == ("'sneaky.pth' contains code besides weights; it is refused unless you allow pickle "
                                 "files (only for files you trust).")
    assert isinstance(upscalers.load_state_dict(path, allow_pickle=True)["extra"], Payload)
    plain = tmp_path / "plain.pth"
    torch.save({"conv.weight": torch.ones(2, 2)}, plain)
    assert torch.equal(upscalers.load_state_dict(plain)["conv.weight"], torch.ones(2, 2))


def test_a_damaged_file_is_one_sentence(tmp_path):
    for name in ("broken.pth", "broken.safetensors"):
        (tmp_path / name).write_bytes(b"not a model")
        with pytest.raises(StudioError, match=f"^'{name}' is not a readable"):
            upscalers.load_state_dict(tmp_path / name)


@pytest.mark.skipif(_spandrel_usable(), reason="spandrel is installed here: tests/test_upscaler_models.py runs")
def test_without_spandrel_an_upscaler_model_is_one_sentence_about_the_extra(tmp_path):
    from studio.engine.devices import choose_device

    path = tmp_path / "x.pth"
    torch.save({"w": torch.ones(1)}, path)
    with pytest.raises(StudioError) as caught:
        upscalers.UpscalerModel.load(path, choose_device("cpu"))
    assert str(caught.value) == upscalers.MISSING
    Image.new("RGB", (4, 4)).save(tmp_path / "in.png")
    from studio import cli

    assert cli.main(["upscale", str(tmp_path / "in.png"), "--upscaler", str(path), "--device", "cpu",
                     "--out", str(tmp_path / "out.png")]) == 2
    assert not (tmp_path / "out.png").exists()
    assert np.asarray(Image.open(tmp_path / "in.png")).shape == (4, 4, 3)
