"""SD 3.5 on the family plug-in: the real engine on a tiny random SD3 pipeline against diffusers' own."""

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline, StableDiffusion3Img2ImgPipeline, StableDiffusion3InpaintPipeline
from PIL import Image

from studio.core import mask as maskmath
from studio.core.cancel import CancelToken
from studio.core.errors import GenerationCancelled
from studio.core.model_info import ModelFamily
from studio.core.request import GenerationRequest
from studio.engine.engine import Engine

SIZE = 64
PROMPT, NEGATIVE = "a red fox in snow", "blurry"


@pytest.fixture(scope="module")
def sd3_engine(tiny_sd3_dir):
    engine = Engine("cpu", previews="linear")
    engine.load(str(tiny_sd3_dir))
    return engine


def _request(**kw) -> GenerationRequest:
    return GenerationRequest(**(dict(prompt=PROMPT, negative_prompt=NEGATIVE, seed=42, steps=4, cfg_scale=5.0,
                                     width=SIZE, height=SIZE) | kw))


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def _direct(folder, pipeline_cls=DiffusionPipeline, **call):
    pipe = pipeline_cls.from_pretrained(folder, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    call = dict(prompt=PROMPT, negative_prompt=NEGATIVE, num_inference_steps=4, guidance_scale=5.0) | call
    return pipe(generator=[torch.Generator("cpu").manual_seed(42)], **call).images[0]


def _source() -> Image.Image:
    return Image.fromarray(np.random.default_rng(7).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))


def test_text_to_image_matches_diffusers_with_true_cfg(sd3_engine, tiny_sd3_dir):
    result = sd3_engine.generate(_request())
    assert np.array_equal(_pixels(result.images[0]), _pixels(_direct(tiny_sd3_dir, width=SIZE, height=SIZE)))
    assert result.recipes[0].model_family == "sd3"
    info = sd3_engine.info
    assert info.family is ModelFamily.SD3 and info.controls.negative_prompt and info.controls.own_sampler


def test_image_to_image_matches_diffusers(sd3_engine, tiny_sd3_dir):
    src = _source()
    result = sd3_engine.generate(_request(init_image=src, strength=0.6))
    expected = _direct(tiny_sd3_dir, StableDiffusion3Img2ImgPipeline, image=src, strength=0.6)
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))


def test_inpainting_keeps_unmasked_pixels_and_matches_diffusers_inside(sd3_engine, tiny_sd3_dir):
    src, mask = _source(), Image.new("L", (SIZE, SIZE), 0)
    mask.paste(255, (21, 19, 37, 35))
    result = sd3_engine.generate(_request(init_image=src, mask=mask, strength=1.0, mask_feather=3))
    out = _pixels(result.images[0])
    paste = np.asarray(maskmath.composite_mask(mask, 3))
    assert np.array_equal(out[paste == 0], _pixels(src)[paste == 0])
    expected = _direct(tiny_sd3_dir, StableDiffusion3InpaintPipeline, image=src,
                       mask_image=maskmath.dilate_to_grid(mask), strength=1.0, width=SIZE, height=SIZE)
    assert np.array_equal(out[paste == 255], _pixels(expected)[paste == 255])


def test_previews_every_step_and_cancel_inside_a_step(sd3_engine):
    updates = []
    sd3_engine.generate(_request(), on_step=updates.append)
    assert [u.step for u in updates] == [1, 2, 3, 4] and updates[0].preview.shape == (SIZE // 8, SIZE // 8, 3)
    token = CancelToken()
    block = sd3_engine._loaded.pipe.transformer.transformer_blocks[0]
    handle = block.register_forward_pre_hook(lambda *a: token.cancel())
    try:
        with pytest.raises(GenerationCancelled):
            sd3_engine.generate(_request(steps=20), cancel=token)
    finally:
        handle.remove()
    assert sd3_engine.generate(_request()).images
