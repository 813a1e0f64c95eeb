"""The hires pass record in core: target sizes, step counts, one sentence per problem, A1111 text."""

import pytest
from PIL import Image

from studio.core.errors import StudioError
from studio.core.hires import HiresPass
from studio.core.metadata import recipe_from_parameters
from studio.core.recipe import Recipe, check_recipe
from studio.core.request import GenerationRequest


def test_the_target_size_comes_from_the_scale_in_multiples_of_8_or_from_the_size():
    assert HiresPass(scale=1.5).target_size(512, 768) == (768, 1152)
    assert HiresPass(scale=1.3).target_size(512, 512) == (664, 664)
    assert HiresPass(scale=3, width=1024, height=640).target_size(512, 512) == (1024, 640)


@pytest.mark.parametrize("steps, strength", [(10, 0.7), (3, 0.3), (25, 0.05), (7, 1.0), (20, 0.33)])
def test_hires_steps_are_the_steps_diffusers_will_run(steps, strength):
    hires = HiresPass(steps=steps, strength=strength)
    scheduled = hires.inference_steps(40)
    assert min(int(scheduled * strength), scheduled) == steps
    assert HiresPass(steps=0, strength=strength).steps_for(40) == 40


@pytest.mark.parametrize("hires, message", [
    (HiresPass(scale=5), "Hires scale must be between 1 and 4 (got 5)."),
    (HiresPass(scale=0.5), "Hires scale must be between 1 and 4 (got 0.5)."),
    (HiresPass(width=1000, height=None), "Give the hires size as both width and height (for example 1024x768)."),
    (HiresPass(width=1020, height=768), "Hires width must be a multiple of 8 (got 1020)."),
    (HiresPass(width=1024, height=8192), "Hires height must be between 64 and 4096 pixels (got 8192)."),
    (HiresPass(scale=4), "The hires size 4096x8192 is above the 4096-pixel limit; lower the scale."),
    (HiresPass(strength=0), "Hires strength must be above 0 and at most 1 (got 0)."),
    (HiresPass(strength=1.5), "Hires strength must be above 0 and at most 1 (got 1.5)."),
    (HiresPass(steps=-1), "Hires steps must be between 0 (as many as the first pass) and 500 (got -1)."),
    (HiresPass(steps=200, strength=0.01),
     "Hires strength 0.01 is too low for 200 hires steps; raise the strength or use fewer steps."),
    (HiresPass(upscaler=" "), "Choose a hires upscaler (for example Latent or Lanczos)."),
    (HiresPass(scheduler="heun"), "Unknown hires sampler 'heun'; choose one of: euler, euler_a, dpmpp_2m, "
                                  "dpmpp_2m_karras, ddim, unipc, lcm, euler_trailing, euler_a_trailing, "
                                  "ddim_trailing."),
])
def test_each_problem_is_one_sentence(hires, message):
    with pytest.raises(StudioError) as caught:
        GenerationRequest("x", width=1024, height=2048, hires=hires).validate()
    assert str(caught.value) == message


def test_hires_is_for_text_to_image():
    image = Image.new("RGB", (64, 64))
    with pytest.raises(StudioError, match="^Hires fix is for text-to-image; turn it off to work on an image.$"):
        GenerationRequest("x", width=64, height=64, init_image=image, hires=HiresPass()).validate()


def test_an_a1111_text_with_hires_fields_is_text_to_image_with_its_hires_pass():
    text = ("a castle\nNegative prompt: fog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 512x512, "
            "Denoising strength: 0.45, Hires resize: 1024x768, Hires steps: 12, Hires upscaler: R-ESRGAN 4x+, "
            'Hires prompt: "a castle, detailed", Hires negative prompt: fog, Hires sampler: DPM++ 2M Karras, '
            "Version: v1.10.1")
    recipe = recipe_from_parameters(text)
    assert (recipe.mode, recipe.strength, recipe.width) == ("txt2img", None, 512)
    assert recipe.hires == HiresPass(strength=0.45, steps=12, upscaler="R-ESRGAN 4x+", width=1024, height=768,
                                     prompt="a castle, detailed", negative_prompt="fog", scheduler="dpmpp_2m_karras")


def test_a1111_defaults_fill_missing_hires_fields():
    recipe = recipe_from_parameters("x\nSteps: 20, Seed: 1, Size: 512x512, Hires upscale: 1.5")
    assert recipe.hires == HiresPass(scale=1.5, strength=0.7, steps=0, upscaler="Latent")


def test_a_damaged_hires_record_in_the_json_recipe_is_dropped():
    base = dict(prompt="x", negative_prompt="", seed=1, steps=2, cfg_scale=7.0, width=64, height=64, sampler="Euler",
                model="m")
    assert Recipe.from_dict({**base, "hires": "nonsense"}).hires is None
    assert Recipe.from_dict({**base, "hires": {"bogus": 1}}).hires == HiresPass()
    assert Recipe.from_dict({**base, "hires": {"scale": 3, "future": True}}).hires == HiresPass(scale=3)
    crafted = {"scale": "2", "steps": 1.5, "upscaler": ["x"], "width": True, "prompt": 3, "strength": 0.4}
    checked = check_recipe({**base, "hires": crafted})  # one unusable value: the record is left out, and named
    assert checked.recipe.hires is None and checked.skipped == ("hires",)


def test_crafted_hires_numbers_fall_back_to_defaults():
    recipe = recipe_from_parameters("x\nSteps: 20, Seed: 1, Size: 512x512, Hires upscale: nan, Denoising strength: inf, "
                                    "Hires steps: lots, Hires resize: 0x768")
    assert recipe.hires == HiresPass(scale=2.0, strength=0.7, steps=0)
