"""Hires fix on the real engine (tiny random-weight models): two passes in one request, one progress bar,
cancel in either pass, the A1111 metadata, and pass 2 equal to diffusers' own image-to-image."""

import numpy as np
import pytest
import torch
from diffusers import EulerDiscreteScheduler, StableDiffusionImg2ImgPipeline, StableDiffusionPipeline
from PIL import Image

from studio.core.cancel import CancelToken
from studio.core.errors import GenerationCancelled, StudioError
from studio.core.hires import HiresPass
from studio.core.metadata import format_parameters, read_recipe, recipe_from_parameters
from studio.core.outputs import write_image
from studio.core.request import GenerationRequest
from studio.engine.engine import Engine

PROMPT, NEGATIVE, SEED = "a lighthouse at dusk", "blurry", 7


def _request(hires: HiresPass | None = None, **kw) -> GenerationRequest:
    base = dict(prompt=PROMPT, negative_prompt=NEGATIVE, seed=SEED, steps=3, cfg_scale=6.0, width=64, height=64,
                scheduler="euler", hires=hires)
    base.update(kw)
    return GenerationRequest(**base)


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def _diffusers(folder, cls):
    pipe = cls.from_pretrained(folder, local_files_only=True)
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _call(**kw) -> dict:
    return dict(prompt=PROMPT, negative_prompt=NEGATIVE, guidance_scale=6.0,
                generator=[torch.Generator("cpu").manual_seed(SEED)], **kw)


def test_the_second_pass_equals_diffusers_img2img_on_the_lanczos_upscaled_first_pass(sd_engine, tiny_sd_dir):
    hires = HiresPass(scale=2, strength=0.5, steps=2, upscaler="Lanczos")
    [result] = sd_engine.generate(_request(hires)).images
    [first] = sd_engine.generate(_request()).images
    upscaled = first.resize((128, 128), Image.Resampling.LANCZOS)
    # 2 hires steps at strength 0.5: diffusers runs int(4 * 0.5) = 2 of 4 scheduled steps.
    expected = _diffusers(tiny_sd_dir, StableDiffusionImg2ImgPipeline)(
        **_call(image=upscaled, strength=0.5, num_inference_steps=4)).images[0]
    assert result.size == (128, 128)
    assert np.array_equal(_pixels(result), _pixels(expected))


def test_a_latent_upscaler_refines_the_interpolated_latents_as_diffusers_would(sd_engine, tiny_sd_dir):
    hires = HiresPass(scale=1.5, strength=0.6, steps=3, upscaler="Latent (nearest-exact)")
    [result] = sd_engine.generate(_request(hires)).images
    text = _diffusers(tiny_sd_dir, StableDiffusionPipeline)
    latents = text(**_call(num_inference_steps=3, width=64, height=64, output_type="latent")).images
    latents = torch.nn.functional.interpolate(latents, size=(12, 12), mode="nearest-exact")
    refine = StableDiffusionImg2ImgPipeline.from_pipe(text)
    expected = refine(**_call(image=latents, strength=0.6, num_inference_steps=5)).images[0]  # int(5 * 0.6) = 3
    assert result.size == (96, 96)
    assert np.array_equal(_pixels(result), _pixels(expected))


def test_one_progress_bar_counts_both_passes_with_previews_at_each_size(sd_engine):
    updates = []
    hires = HiresPass(scale=2, strength=0.5, steps=2, upscaler="Latent")
    sd_engine.generate(_request(hires, steps=4), on_step=updates.append)
    assert [u.step for u in updates] == [1, 2, 3, 4, 5, 6]
    assert {u.total for u in updates} == {6}  # 4 base steps + 2 hires steps
    assert [u.preview.shape[:2] for u in updates] == [(8, 8)] * 4 + [(16, 16)] * 2


def test_hires_steps_0_means_as_many_as_the_first_pass(sd_engine):
    updates = []
    sd_engine.generate(_request(HiresPass(strength=0.3, upscaler="Lanczos"), steps=3), on_step=updates.append)
    assert updates[-1].step == updates[-1].total == 6


@pytest.mark.parametrize("cancel_at", [2, 4])  # in the first pass (3 steps), in the second
def test_cancel_in_either_pass_stops_the_run_and_the_next_run_works(sd_engine, cancel_at):
    token, seen = CancelToken(), []

    def on_step(update):
        seen.append(update.step)
        if update.step == cancel_at:
            token.cancel()

    with pytest.raises(GenerationCancelled):
        sd_engine.generate(_request(HiresPass(steps=2, upscaler="Lanczos")), on_step=on_step, cancel=token)
    assert seen[-1] == cancel_at
    assert sd_engine.generate(_request(steps=1)).images[0].size == (64, 64)


def test_the_recipe_records_hires_as_a1111_writes_it_and_restores_it(sd_engine, tmp_path):
    hires = HiresPass(scale=2, strength=0.5, steps=2, upscaler="Latent", prompt="sharp details",
                      scheduler="dpmpp_2m")
    result = sd_engine.generate(_request(hires))
    [recipe] = result.recipes
    text = format_parameters(recipe)
    for field in ("Size: 64x64", "Denoising strength: 0.5", "Hires upscale: 2", "Hires steps: 2",
                  "Hires upscaler: Latent", "Hires prompt: sharp details", "Hires sampler: DPM++ 2M"):
        assert field in text
    assert "Hires resize" not in text
    saved = write_image(tmp_path / "out.png", result.images[0], recipe)
    assert read_recipe(saved) == recipe  # the JSON recipe
    from_text = recipe_from_parameters(text)  # the A1111 text alone
    assert (from_text.mode, from_text.hires) == ("txt2img", hires)


def test_a_target_size_is_used_and_recorded_as_hires_resize(sd_engine):
    hires = HiresPass(width=128, height=96, strength=0.5, steps=1, upscaler="Lanczos")
    result = sd_engine.generate(_request(hires))
    assert result.images[0].size == (128, 96)
    text = format_parameters(result.recipes[0])
    assert "Hires resize: 128x96" in text and "Hires upscale:" not in text
    assert recipe_from_parameters(text).hires.target_size(64, 64) == (128, 96)


def test_a_batch_is_refined_image_by_image(sd_engine):
    result = sd_engine.generate(_request(HiresPass(steps=1, upscaler="Lanczos"), batch_size=2))
    assert [img.size for img in result.images] == [(128, 128)] * 2
    assert [r.seed for r in result.recipes] == [SEED, SEED + 1]
    assert not np.array_equal(_pixels(result.images[0]), _pixels(result.images[1]))


def test_an_inpainting_model_refines_with_lanczos_and_refuses_latent_upscaling(tiny_sd_inpaint_dir):
    engine = Engine("cpu", previews="off")
    engine.load(str(tiny_sd_inpaint_dir))
    result = engine.generate(_request(HiresPass(steps=1, upscaler="Lanczos")))
    assert result.images[0].size == (128, 128)
    with pytest.raises(StudioError, match="^Latent hires upscalers need an ordinary model"):
        engine.generate(_request(HiresPass(steps=1, upscaler="Latent")))


def test_sdxl_hires_with_a_latent_upscaler(tiny_sdxl_dir):
    engine = Engine("cpu", previews="off")
    engine.load(str(tiny_sdxl_dir))
    result = engine.generate(_request(HiresPass(scale=1.5, steps=1, upscaler="Latent")))
    assert result.images[0].size == (96, 96)


def test_an_unknown_upscaler_is_one_sentence(sd_engine):
    message = "^Unknown hires upscaler 'Bogus'; choose one of: Latent, .*, Lanczos, Nearest, or put an upscaler model in "
    with pytest.raises(StudioError, match=message):
        sd_engine.generate(_request(HiresPass(upscaler="Bogus")))
