"""``studio generate --ip-adapter ... --ip-image ...``: the real engine on the tiny SD model, against diffusers."""

from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline
from PIL import Image

from studio import cli
from studio.core.metadata import read_recipe
from tests.tiny_controlnets import control_image
from tests.tiny_ipadapters import build_tiny_encoder, build_tiny_ipadapter


@pytest.fixture(scope="module")
def adapter(tmp_path_factory, tiny_sd_dir) -> Path:
    folder = tmp_path_factory.mktemp("ip")
    build_tiny_encoder(folder / "image_encoder")
    return build_tiny_ipadapter(tiny_sd_dir, folder / "ip-adapter_tiny.safetensors")


def _gen(model: Path, *extra: str) -> list[str]:
    return ["generate", "--model", str(model), "--prompt", "a lighthouse", "--steps", "3", "--seed", "4",
            "--scheduler", "euler", "--width", "64", "--height", "64", "--device", "cpu", *extra]


def test_image_prompt_from_the_command_line(tiny_sd_dir, adapter, tmp_path, capsys):
    image, out = tmp_path / "ip.png", tmp_path / "out.png"
    control_image().save(image)
    assert cli.main(_gen(tiny_sd_dir, "--ip-adapter", str(adapter), "--ip-image", str(image), "--ip-scale", "0.7",
                         "--out", str(out))) == 0
    recipe = read_recipe(out)
    assert (recipe.image_prompt.adapter, recipe.image_prompt.scale) == (str(adapter), 0.7)
    pipe = StableDiffusionPipeline.from_pretrained(tiny_sd_dir, local_files_only=True)
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    pipe.load_ip_adapter(str(adapter.parent), subfolder="", weight_name=adapter.name, local_files_only=True)
    pipe.set_ip_adapter_scale(0.7)
    expected = pipe("a lighthouse", num_inference_steps=3, guidance_scale=7.0, width=64, height=64,
                    ip_adapter_image=Image.open(image).convert("RGB"),
                    generator=torch.Generator("cpu").manual_seed(4)).images[0]
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), np.asarray(expected))


@pytest.mark.parametrize("extra, message", [
    (["--ip-image", "IMG"], "--ip-adapter and --ip-image go together"),
    (["--ip-adapter", "nowhere", "--ip-image", "IMG"], "There is no IP-Adapter called 'nowhere'"),
    (["--ip-adapter", "IP", "--ip-image", "IMG", "--ip-scale", "3"], "scale must be between 0 and 2"),
])
def test_bad_image_prompt_flags_are_one_sentence(tiny_sd_dir, adapter, tmp_path, capsys, extra, message):
    image = tmp_path / "c.png"
    control_image().save(image)
    extra = [str(adapter) if e == "IP" else str(image) if e == "IMG" else e for e in extra]
    assert cli.main(_gen(tiny_sd_dir, *extra)) == 2
    assert message in capsys.readouterr().err
