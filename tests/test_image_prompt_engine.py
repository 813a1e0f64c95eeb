"""Image prompts (IP-Adapter) in the real engine on the tiny SD model: pixels equal diffusers' own
``load_ip_adapter`` + ``set_ip_adapter_scale`` + ``ip_adapter_image``, nothing leaks into a run without one."""

from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline
from PIL import Image

from studio.core import control_store
from studio.core.control import ControlInput
from studio.core.errors import StudioError
from studio.core.image_prompt import ImagePrompt
from studio.core.metadata import format_parameters, recipe_from_parameters
from studio.core.recipe import Recipe
from studio.core.request import GenerationRequest
from tests.tiny_controlnets import build_tiny_controlnet, control_image
from tests.tiny_ipadapters import build_tiny_encoder, build_tiny_ipadapter

SIZE = 64
PROMPT = dict(prompt="a red fox in snow", negative_prompt="blurry", num_inference_steps=4, guidance_scale=6.5)


@pytest.fixture(scope="module")
def adapter(tmp_path_factory, tiny_sd_dir) -> Path:
    """h94/IP-Adapter's layout: the adapter file with its ``image_encoder`` folder beside it."""
    folder = tmp_path_factory.mktemp("ip")
    build_tiny_encoder(folder / "image_encoder")
    return build_tiny_ipadapter(tiny_sd_dir, folder / "ip-adapter_tiny.safetensors")


def _picture(seed: int = 5) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))


def _request(prompt: ImagePrompt | None = None, **kw) -> GenerationRequest:
    base = dict(prompt="a red fox in snow", negative_prompt="blurry", seed=42, steps=4, cfg_scale=6.5,
                width=SIZE, height=SIZE, scheduler="euler", image_prompt=prompt)
    return GenerationRequest(**(base | kw))


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def _direct(folder: Path, adapter: Path | None, scale: float = 1.0) -> Image.Image:
    pipe = StableDiffusionPipeline.from_pretrained(folder, local_files_only=True)
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    call = {}
    if adapter is not None:
        pipe.load_ip_adapter(str(adapter.parent), subfolder="", weight_name=adapter.name,
                             image_encoder_folder="image_encoder", local_files_only=True)
        pipe.set_ip_adapter_scale(scale)
        call["ip_adapter_image"] = _picture()
    return pipe(generator=torch.Generator("cpu").manual_seed(42), width=SIZE, height=SIZE, **PROMPT, **call).images[0]


def test_image_prompt_matches_diffusers_and_leaves_nothing_behind(sd_engine, tiny_sd_dir, adapter):
    base = _pixels(sd_engine.generate(_request()).images[0])
    result = sd_engine.generate(_request(ImagePrompt(adapter=str(adapter), image=_picture(), scale=0.8)))
    assert np.array_equal(_pixels(result.images[0]), _pixels(_direct(tiny_sd_dir, adapter, 0.8)))
    assert not np.array_equal(_pixels(result.images[0]), base)
    after = sd_engine.generate(_request())
    assert np.array_equal(_pixels(after.images[0]), base)
    assert np.array_equal(base, _pixels(_direct(tiny_sd_dir, None)))


def test_scale_zero_equals_no_image_prompt(sd_engine, adapter):
    base = _pixels(sd_engine.generate(_request()).images[0])
    zero = sd_engine.generate(_request(ImagePrompt(adapter=str(adapter), image=_picture(), scale=0.0)))
    assert np.array_equal(_pixels(zero.images[0]), base)


def test_image_prompt_with_a_controlnet(sd_engine, tmp_path, tiny_sd_dir, adapter):
    net = build_tiny_controlnet(tiny_sd_dir, tmp_path / "cn")
    control = ControlInput(model=str(net), image=control_image())
    plain = _pixels(sd_engine.generate(_request(control=(control,))).images[0])
    both = _pixels(sd_engine.generate(_request(ImagePrompt(adapter=str(adapter), image=_picture()),
                                               control=(control,))).images[0])
    assert not np.array_equal(both, plain)  # the ControlNet pipeline got the adapter and its encoder
    assert np.array_equal(_pixels(sd_engine.generate(_request(control=(control,))).images[0]), plain)


def test_the_wrong_encoder_is_one_sentence(sd_engine, tmp_path, tiny_sd_dir):
    build_tiny_encoder(tmp_path / "image_encoder", projection_dim=24)
    wrong = build_tiny_ipadapter(tiny_sd_dir, tmp_path / "ip-adapter_other.safetensors", image_width=16)
    with pytest.raises(StudioError, match=r"needs an image encoder with 16-wide image embeddings.*'image_encoder' "
                                          r"\(24-wide\)"):
        sd_engine.generate(_request(ImagePrompt(adapter=str(wrong), image=_picture())))
    sd_engine.generate(_request())  # the engine keeps working


def test_an_adapter_for_another_family_is_one_sentence(sd_engine, tmp_path, tiny_sdxl_dir):
    build_tiny_encoder(tmp_path / "image_encoder")
    xl = build_tiny_ipadapter(tiny_sdxl_dir, tmp_path / "ip-adapter_xl.safetensors")
    with pytest.raises(StudioError, match="is for models with .*-wide text embeddings"):
        sd_engine.generate(_request(ImagePrompt(adapter=str(xl), image=_picture())))


def test_recipe_and_parameters_round_trip(sd_engine, adapter):
    result = sd_engine.generate(_request(ImagePrompt(adapter=str(adapter), image=_picture(), scale=0.65)))
    prompt = result.recipes[0].image_prompt
    assert prompt.adapter == str(adapter) and prompt.scale == 0.65 and prompt.image is None
    assert _pixels(control_store.load(prompt.image_key)).tolist() == _pixels(_picture()).tolist()
    assert Recipe.from_dict(result.recipes[0].to_dict()) == result.recipes[0]
    text = format_parameters(result.recipes[0])
    assert f"IP-Adapter: {adapter}" in text and "IP-Adapter scale: 0.65" in text
    back = recipe_from_parameters(text).image_prompt
    assert (back.adapter, back.scale) == (str(adapter), 0.65)
