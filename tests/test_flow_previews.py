"""Full-size previews for the flow-matching families from their tiny autoencoders (taef1 for Flux and Chroma,
taesd3 for SD 3.5): a tiny random 16-channel ``AutoencoderTiny`` in ``<root>/models/<name>``, a preview every step,
the last one the tiny autoencoder's picture of the final latent, and the final image unchanged."""

import math

import numpy as np
import pytest
import torch
from diffusers import AutoencoderTiny, DiffusionPipeline

from studio.core.paths import models_dir
from studio.core.request import GenerationRequest
from studio.engine.engine import Engine

SIZE, STEPS = 64, 4
PROMPT = "a red fox in snow"
CASES = {  # fixture -> (tiny autoencoder folder, negative prompt, guidance)
    "tiny_flux_dir": ("taef1", "", 3.5),
    "tiny_chroma_dir": ("taef1", "blurry", 5.0),
    "tiny_sd3_dir": ("taesd3", "blurry", 5.0),
}


def _tiny_autoencoder(pipe, name: str) -> AutoencoderTiny:
    """Random weights, 16 latent channels, and the scale and shift of the family's VAE in its config."""
    torch.manual_seed(0)
    taesd = AutoencoderTiny(latent_channels=16, encoder_block_out_channels=(8, 8, 8, 8),
                            decoder_block_out_channels=(8, 8, 8, 8), scaling_factor=pipe.vae.config.scaling_factor,
                            shift_factor=pipe.vae.config.shift_factor)
    taesd.save_pretrained(models_dir() / name)
    return taesd


def _final_latents(pipe, negative: str, guidance: float) -> torch.Tensor:
    extra = dict(negative_prompt=negative) if negative else {}
    latents = pipe(prompt=PROMPT, num_inference_steps=STEPS, guidance_scale=guidance, width=SIZE, height=SIZE,
                   generator=[torch.Generator("cpu").manual_seed(42)], output_type="latent", **extra).images
    if latents.ndim == 3:  # Flux's and Chroma's packed 2x2 patches
        latents = pipe._unpack_latents(latents, SIZE, SIZE, pipe.vae_scale_factor)
    return latents


@pytest.mark.parametrize("fixture", CASES)
def test_full_size_previews_every_step_and_the_final_image_unchanged(fixture, request):
    folder = request.getfixturevalue(fixture)
    name, negative, guidance = CASES[fixture]
    pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    taesd = _tiny_autoencoder(pipe, name)
    engine = Engine("cpu", previews="auto")
    engine.load(str(folder))
    # On a tiny model a step costs less than a decode; the budget would switch to the linear preview at once.
    engine._previewer.budget = math.inf
    job = GenerationRequest(prompt=PROMPT, negative_prompt=negative, seed=42, steps=STEPS, cfg_scale=guidance,
                            width=SIZE, height=SIZE)
    updates = []
    result = engine.generate(job, on_step=updates.append)
    assert [u.step for u in updates] == list(range(1, STEPS + 1))
    assert all(u.preview.shape == (SIZE, SIZE, 3) for u in updates)
    # The last step lands on sigma 0: its x0 is the final latent, which the tiny autoencoder decodes unscaled.
    latents = _final_latents(pipe, negative, guidance)
    config = taesd.config
    with torch.no_grad():
        picture = taesd.decode(latents / config.scaling_factor + config.shift_factor).sample[0].clamp(-1, 1)
    expected = ((picture.permute(1, 2, 0) + 1) * 127.5).round().to(torch.uint8).numpy()
    assert np.abs(updates[-1].preview.astype(int) - expected.astype(int)).max() <= 1
    assert not np.array_equal(updates[0].preview, updates[-1].preview)
    linear = Engine("cpu", previews="linear")
    linear.load(str(folder))
    assert np.array_equal(np.asarray(result.images[0]), np.asarray(linear.generate(job).images[0]))
