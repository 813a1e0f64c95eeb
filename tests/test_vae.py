"""A VAE chosen instead of the model's own: diffusers' pixels with that VAE, back to the own one, refusals."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from studio.core.errors import StudioError
from studio.core.metadata import format_parameters, recipe_from_parameters
from studio.core.paths import models_dir
from tests.test_lora import _ours, _pipe, _request, _theirs
from tests.tiny_networks import ldm_vae

PROMPT = "a red fox in snow"


def test_a_vae_file_decodes_like_diffusers_with_that_vae_and_the_own_one_comes_back(sd_engine, tiny_sd_dir):  # noqa: F811
    pipe = _pipe(tiny_sd_dir)
    path, vae = ldm_vae(pipe, models_dir() / "vae" / "sharp.safetensors")
    unet = sd_engine._loaded.pipe.unet
    base = _ours(sd_engine, PROMPT)
    ours = _ours(sd_engine, PROMPT, vae="sharp")
    pipe.vae = vae
    assert np.array_equal(ours, _theirs(pipe, PROMPT))
    assert np.abs(ours - base).max() > 5
    assert np.array_equal(_ours(sd_engine, PROMPT, vae="sharp.safetensors"), ours)  # as A1111 records it
    assert np.array_equal(_ours(sd_engine, PROMPT), base)
    assert sd_engine._loaded.pipe.unet is unet  # never reloaded


def test_the_vae_is_recorded_as_a1111_records_it(sd_engine, tiny_sd_dir):  # noqa: F811
    path, _ = ldm_vae(_pipe(tiny_sd_dir), models_dir() / "vae" / "sharp.safetensors")
    recipe = sd_engine.generate(_request(PROMPT, vae="sharp")).recipes[0]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    assert (recipe.vae, recipe.vae_hash) == ("sharp.safetensors", digest)
    text = format_parameters(recipe)
    assert f"VAE hash: {digest}, VAE: sharp.safetensors" in text
    assert recipe_from_parameters(text).vae == "sharp.safetensors"


def test_a_vae_for_another_model_an_unknown_name_and_a_damaged_file_are_one_sentence(sdxl_engine, tiny_sd_dir):  # noqa: F811
    ldm_vae(_pipe(tiny_sd_dir), models_dir() / "vae" / "sd1.safetensors")
    (models_dir() / "vae" / "broken.pt").write_bytes(b"not a pickle")
    from diffusers import AutoencoderKL
    from safetensors.torch import save_file

    other = AutoencoderKL(block_out_channels=(16, 16), down_block_types=("DownEncoderBlock2D",) * 2,
                          up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=8)
    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, str(models_dir() / "vae" / "other.safetensors"))
    base = _ours(sdxl_engine, PROMPT)
    cases = {"nowhere": "There is no VAE called 'nowhere' in the VAE folders",
             "broken": "The VAE 'broken.pt' could not be read",
             "other": "The VAE 'other.safetensors' was made for another kind of model than the one loaded."}
    # The tiny SD 1.x and SDXL VAEs share an architecture (as the real ones do): the SDXL engine takes it.
    assert not np.array_equal(_ours(sdxl_engine, PROMPT, vae="sd1"), base)
    for name, expected in cases.items():
        with pytest.raises(StudioError) as err:
            sdxl_engine.generate(_request(PROMPT, vae=name))
        assert expected in str(err.value)
    assert np.array_equal(_ours(sdxl_engine, PROMPT), base)
