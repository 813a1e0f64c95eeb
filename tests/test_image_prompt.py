"""The image prompt record: its checks, its ``parameters`` fields and A1111's IP-Adapter ControlNet unit."""

import pytest
from PIL import Image

from studio.core.errors import StudioError
from studio.core.image_prompt import ImagePrompt
from studio.core.metadata import check_parameters
from studio.core.request import GenerationRequest

IMAGE = Image.new("RGB", (8, 8), "red")


@pytest.mark.parametrize("prompt, words", [
    (ImagePrompt(adapter=" ", image=IMAGE), "has no IP-Adapter"),
    (ImagePrompt(adapter="ip-adapter_sd15"), "has no image"),
    (ImagePrompt(adapter="ip-adapter_sd15", image=IMAGE, scale=2.5), "scale must be between 0 and 2"),
])
def test_a_bad_image_prompt_is_one_sentence(prompt, words):
    with pytest.raises(StudioError, match=words):
        GenerationRequest(prompt="x", image_prompt=prompt).validate()


def test_own_fields_are_read_back():
    text = "a fox\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 512x512, IP-Adapter: plus, face, " \
           "IP-Adapter scale: 0.5"
    recipe = check_parameters(text).recipe
    assert (recipe.image_prompt.adapter, recipe.image_prompt.scale) == ("plus", 0.5)


def test_a1111_ip_adapter_unit_is_an_image_prompt_not_a_control_layer():
    text = ('a fox\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 512x512, ControlNet 0: "Module: '
            'ip-adapter_clip_sd15, Model: ip-adapter_sd15 [6a3f6166], Weight: 0.7, Resize Mode: Crop and Resize, '
            'Processor Res: 512, Guidance Start: 0, Guidance End: 1, Pixel Perfect: False, Control Mode: Balanced", '
            'ControlNet 1: "Module: canny, Model: control_canny [aa11bb22], Weight: 1, Guidance Start: 0, '
            'Guidance End: 1"')
    recipe = check_parameters(text).recipe
    assert (recipe.image_prompt.adapter, recipe.image_prompt.scale) == ("ip-adapter_sd15", 0.7)
    assert [unit.model for unit in recipe.control] == ["control_canny"]
