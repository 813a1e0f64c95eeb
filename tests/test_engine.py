"""The real engine on tiny random-weight pipelines: equality with diffusers, previews, cancel, errors."""

import numpy as np
import pytest
import torch
from diffusers import (
    DiffusionPipeline,
    EulerDiscreteScheduler,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionInpaintPipeline,
)
from PIL import Image

from studio.core import mask as maskmath
from studio.core.cancel import CancelToken
from studio.core.errors import GenerationCancelled, StudioError
from studio.core.request import GenerationRequest
from studio.core.samplers import SAMPLER_LABELS, SCHEDULER_NAMES
from studio.engine.engine import Engine

SIZE = 64


def _request(**kw) -> GenerationRequest:
    base = dict(prompt="a red fox in snow", negative_prompt="blurry", seed=42, steps=4, cfg_scale=6.5,
                width=SIZE, height=SIZE, scheduler="euler")
    base.update(kw)
    return GenerationRequest(**base)


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def _direct(folder, pipeline_cls=DiffusionPipeline, **call):
    """diffusers' own pipeline, called directly with a CPU generator and Euler."""
    pipe = pipeline_cls.from_pretrained(folder, local_files_only=True)
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe(generator=torch.Generator("cpu").manual_seed(call.pop("seed")), **call).images[0]


def test_text_to_image_matches_diffusers_pixel_for_pixel(sd_engine, tiny_sd_dir):
    result = sd_engine.generate(_request())
    expected = _direct(tiny_sd_dir, prompt="a red fox in snow", negative_prompt="blurry", num_inference_steps=4,
                       guidance_scale=6.5, width=SIZE, height=SIZE, seed=42)
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))


def test_sdxl_text_to_image_matches_diffusers(tiny_sdxl_dir):
    engine = Engine("cpu", previews="linear")
    info = engine.load(str(tiny_sdxl_dir))
    assert info.family.value == "sdxl"
    result = engine.generate(_request(width=64, height=64))
    expected = _direct(tiny_sdxl_dir, prompt="a red fox in snow", negative_prompt="blurry", num_inference_steps=4,
                       guidance_scale=6.5, width=64, height=64, seed=42)
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))


def _source(size=SIZE) -> Image.Image:
    rng = np.random.default_rng(7)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def test_image_to_image_matches_diffusers(sd_engine, tiny_sd_dir):
    src = _source()
    result = sd_engine.generate(_request(init_image=src, strength=0.6))
    expected = _direct(tiny_sd_dir, StableDiffusionImg2ImgPipeline, prompt="a red fox in snow",
                       negative_prompt="blurry", num_inference_steps=4, guidance_scale=6.5, image=src,
                       strength=0.6, seed=42)
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))


def _painted_mask(size=SIZE) -> Image.Image:
    mask = Image.new("L", (size, size), 0)
    mask.paste(255, (21, 19, 37, 35))  # deliberately off the 8-pixel latent grid
    return mask


@pytest.mark.parametrize("model", ["tiny_sd_dir", "tiny_sd_inpaint_dir"])
def test_inpainting_keeps_every_pixel_outside_the_feathered_mask(model, request):
    folder = request.getfixturevalue(model)
    engine = Engine("cpu", previews="linear")
    engine.load(str(folder))
    src, mask = _source(), _painted_mask()
    result = engine.generate(_request(init_image=src, mask=mask, strength=1.0, mask_feather=3))
    out, source = _pixels(result.images[0]), _pixels(src)
    paste = np.asarray(maskmath.composite_mask(mask, 3))
    outside = paste == 0
    assert outside.sum() > 0.5 * outside.size
    assert np.array_equal(out[outside], source[outside])
    # Inside the painted area the pixels are diffusers' own inpainting output.
    expected = _direct(folder, StableDiffusionInpaintPipeline, prompt="a red fox in snow",
                       negative_prompt="blurry", num_inference_steps=4, guidance_scale=6.5, image=src,
                       mask_image=maskmath.dilate_to_grid(mask), strength=1.0, width=SIZE, height=SIZE, seed=42)
    inside = paste == 255
    assert np.array_equal(out[inside], _pixels(expected)[inside])
    assert not np.array_equal(out[inside], source[inside])


def test_mask_is_snapped_to_the_latent_grid():
    grown = np.asarray(maskmath.dilate_to_grid(_painted_mask())) > 0
    ys, xs = np.nonzero(grown)
    assert (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1) == (16, 40, 16, 40)
    assert grown[16:40, 16:40].all()


def test_seeds_reproduce_and_differ(sd_engine):
    a = _pixels(sd_engine.generate(_request(seed=1)).images[0])
    b = _pixels(sd_engine.generate(_request(seed=1)).images[0])
    c = _pixels(sd_engine.generate(_request(seed=2)).images[0])
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_random_seed_is_resolved_and_recorded(sd_engine):
    result = sd_engine.generate(_request(seed=None))
    seed = result.recipes[0].seed
    assert isinstance(seed, int)
    again = sd_engine.generate(_request(seed=seed))
    assert np.array_equal(_pixels(result.images[0]), _pixels(again.images[0]))


def test_batch_gets_consecutive_seeds(sd_engine):
    result = sd_engine.generate(_request(batch_size=2, seed=10))
    assert [r.seed for r in result.recipes] == [10, 11]
    assert [r.batch_index for r in result.recipes] == [0, 1]
    assert not np.array_equal(_pixels(result.images[0]), _pixels(result.images[1]))


def test_a_preview_arrives_after_every_step(sd_engine):
    updates = []
    sd_engine.generate(_request(steps=5), on_step=updates.append)
    assert [(u.step, u.total) for u in updates] == [(i, 5) for i in range(1, 6)]
    for u in updates:
        assert u.preview.shape == (SIZE // 8, SIZE // 8, 3) and u.preview.dtype == np.uint8


def test_image_to_image_previews_count_the_steps_it_runs(sd_engine):
    updates = []
    sd_engine.generate(_request(steps=4, init_image=_source(), strength=0.5), on_step=updates.append)
    assert [(u.step, u.total) for u in updates] == [(1, 2), (2, 2)]


def test_previews_never_change_the_image(sd_engine):
    with_previews = sd_engine.generate(_request(), on_step=lambda u: None)
    sd_engine.previews = "off"
    try:
        without = sd_engine.generate(_request())
    finally:
        sd_engine.previews = "linear"
    assert np.array_equal(_pixels(with_previews.images[0]), _pixels(without.images[0]))


def test_tiny_autoencoder_preview_is_full_size(tiny_sd_dir):
    from studio.core.paths import models_dir
    from tests.tiny_models import save_tiny_taesd

    save_tiny_taesd(models_dir() / "taesd")
    engine = Engine("cpu", previews="auto")
    engine.load(str(tiny_sd_dir))
    updates = []
    engine.generate(_request(steps=2), on_step=updates.append)
    assert updates[0].preview.shape == (SIZE, SIZE, 3)


def test_each_scheduler_runs_and_is_recorded(sd_engine):
    images = {}
    for name in SCHEDULER_NAMES:
        result = sd_engine.generate(_request(scheduler=name, steps=3))
        assert result.recipes[0].sampler == SAMPLER_LABELS[name]
        images[name] = _pixels(result.images[0])
    assert not np.array_equal(images["euler"], images["ddim"])


def test_model_scheduler_is_the_default(sd_engine):
    result = sd_engine.generate(_request(scheduler=None))
    assert result.recipes[0].sampler == "PLMS"  # the tiny SD ships PNDM like the real SD 1.5
    assert sd_engine.info.default_sampler == "PLMS"


def test_cancel_stops_within_a_step_without_decoding_and_the_next_run_works(sd_engine):
    token = CancelToken()
    decodes = []
    vae = sd_engine._loaded.pipe.vae
    handle = vae.decoder.register_forward_pre_hook(lambda *a: decodes.append(1))
    steps = []

    def on_step(update):
        steps.append(update.step)
        token.cancel()

    try:
        with pytest.raises(GenerationCancelled):
            sd_engine.generate(_request(steps=20), on_step=on_step, cancel=token)
    finally:
        handle.remove()
    assert steps == [1]
    assert decodes == []
    assert sd_engine.generate(_request()).images


def test_cancel_inside_a_step_interrupts_the_unet(sd_engine):
    token = CancelToken()
    calls = []
    unet = sd_engine._loaded.pipe.unet

    def count(*_):
        calls.append(1)
        if len(calls) == 2:  # the second block of the first step
            token.cancel()

    handle = unet.down_blocks[0].register_forward_pre_hook(count)
    try:
        with pytest.raises(GenerationCancelled):
            sd_engine.generate(_request(steps=20), cancel=token)
    finally:
        handle.remove()
    assert len(calls) <= 3


def test_out_of_memory_becomes_a_clear_message_and_the_engine_recovers(sd_engine):
    unet = sd_engine._loaded.pipe.unet

    def explode(*_):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    handle = unet.register_forward_pre_hook(explode)
    try:
        with pytest.raises(StudioError, match="Ran out of memory .*smaller size"):
            sd_engine.generate(_request())
    finally:
        handle.remove()
    assert sd_engine.generate(_request()).images


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(steps=0), "Steps must be"),
        (dict(width=65), "multiple of 8"),
        (dict(scheduler="heun++"), "Unknown scheduler"),
        (dict(cfg_scale=-1), "CFG scale"),
        (dict(init_image=Image.new("RGB", (64, 64)), mask=Image.new("L", (32, 32))), "mask is 32x32"),
    ],
)
def test_bad_requests_are_refused_with_one_sentence(sd_engine, kw, message):
    with pytest.raises(StudioError, match=message):
        sd_engine.generate(_request(**kw))


def test_generating_without_a_model_is_a_clear_error():
    with pytest.raises(StudioError, match="No model is loaded"):
        Engine("cpu").generate(_request())


def test_sdxl_image_to_image_and_inpainting(tiny_sdxl_dir):
    from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLInpaintPipeline

    engine = Engine("cpu", previews="linear")
    engine.load(str(tiny_sdxl_dir))
    src, mask = _source(), _painted_mask()
    common = dict(prompt="a red fox in snow", negative_prompt="blurry", num_inference_steps=4, guidance_scale=6.5,
                  image=src, seed=42)
    img2img = engine.generate(_request(init_image=src, strength=0.6)).images[0]
    expected = _direct(tiny_sdxl_dir, StableDiffusionXLImg2ImgPipeline, strength=0.6, **common)
    assert np.array_equal(_pixels(img2img), _pixels(expected))
    inpainted = _pixels(engine.generate(_request(init_image=src, mask=mask, strength=1.0, mask_feather=3)).images[0])
    expected = _direct(tiny_sdxl_dir, StableDiffusionXLInpaintPipeline, mask_image=maskmath.dilate_to_grid(mask),
                       strength=1.0, width=SIZE, height=SIZE, **common)
    paste = np.asarray(maskmath.composite_mask(mask, 3))
    assert np.array_equal(inpainted[paste == 0], _pixels(src)[paste == 0])
    assert np.array_equal(inpainted[paste == 255], _pixels(expected)[paste == 255])
