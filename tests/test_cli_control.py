"""``studio generate --controlnet ... --control-image ...``: the real engine on tiny models, checked against diffusers."""

from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import ControlNetModel, EulerDiscreteScheduler, StableDiffusionControlNetPipeline
from PIL import Image

from studio import cli
from studio.core.metadata import read_recipe
from tests.tiny_controlnets import build_tiny_controlnet, control_image


@pytest.fixture(scope="module")
def controlnet(tmp_path_factory, tiny_sd_dir) -> Path:
    return build_tiny_controlnet(tiny_sd_dir, tmp_path_factory.mktemp("cn") / "tiny-canny")


def _gen(model: Path, *extra: str) -> list[str]:
    return ["generate", "--model", str(model), "--prompt", "a lighthouse", "--steps", "3", "--seed", "4",
            "--scheduler", "euler", "--width", "64", "--height", "64", "--device", "cpu", *extra]


def test_two_control_layers_from_the_command_line(tiny_sd_dir, controlnet, tmp_path, capsys):
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    control_image().save(first)
    control_image(seed=8).transpose(Image.Transpose.ROTATE_90).save(second)
    out = tmp_path / "out.png"
    assert cli.main(_gen(tiny_sd_dir, "--controlnet", str(controlnet), "--control-image", str(first),
                         "--control-weight", "0.6", "--controlnet", str(controlnet), "--control-image", str(second),
                         "--control-end", "0.5", "--out", str(out))) == 0
    recipe = read_recipe(out)
    assert [(u.weight, u.end, u.preprocessor) for u in recipe.control] == [(0.6, 1.0, "none"), (1.0, 0.5, "none")]
    net = ControlNetModel.from_pretrained(controlnet, local_files_only=True)
    pipe = StableDiffusionControlNetPipeline.from_pretrained(tiny_sd_dir, controlnet=[net, net], local_files_only=True)
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    expected = pipe("a lighthouse", num_inference_steps=3, guidance_scale=7.0, width=64, height=64,
                    image=[Image.open(first).convert("RGB"), Image.open(second).convert("RGB")],
                    controlnet_conditioning_scale=[0.6, 1.0], control_guidance_start=[0.0, 0.0],
                    control_guidance_end=[1.0, 0.5], generator=torch.Generator("cpu").manual_seed(4)).images[0]
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), np.asarray(expected))


@pytest.mark.parametrize("extra, message", [
    (["--control-weight", "0.5"], "--control-weight must follow the --controlnet it belongs to"),
    (["--controlnet", "CN"], "--controlnet CN needs a --control-image after it."),
    (["--controlnet", "nowhere", "--control-image", "IMG"], "There is no ControlNet called 'nowhere'"),
    (["--controlnet", "CN", "--control-image", "IMG", "--control-weight", "3"], "the weight must be between 0 and 2"),
])
def test_bad_control_flags_are_one_sentence(tiny_sd_dir, controlnet, tmp_path, capsys, extra, message):
    image = tmp_path / "c.png"
    control_image().save(image)
    extra = [str(controlnet) if e == "CN" else str(image) if e == "IMG" else e for e in extra]
    try:
        code = cli.main(_gen(tiny_sd_dir, *extra))
    except SystemExit as exc:  # argparse's own refusal
        code = exc.code
    assert code == 2
    assert message.replace("CN", str(controlnet)) in capsys.readouterr().err
