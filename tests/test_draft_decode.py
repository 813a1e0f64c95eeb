"""Draft decoding: the final latents decoded by the tiny autoencoder (TAESD) instead of the VAE, on the tiny models.

The draft is diffusers' own picture with the TAESD as the pipeline's VAE (pixel for pixel), recorded as such in the
recipe and the A1111 text, keeps the inpainting paste-back exact, runs on OpenVINO too, and without a TAESD on disk
says what to put where and decodes with the VAE.
"""

import numpy as np
import pytest
import torch
from diffusers import AutoencoderTiny, DiffusionPipeline, EulerDiscreteScheduler
from PIL import Image

from studio import cli
from studio.core.metadata import format_parameters, read_recipe
from studio.core.outputs import save_image
from studio.core.paths import models_dir
from studio.core.request import GenerationRequest
from studio.engine.engine import Engine
from tests.tiny_models import save_tiny_taesd

SIZE = 64
CALL = dict(prompt="a red fox in snow", negative_prompt="blurry", num_inference_steps=4, guidance_scale=6.5,
            width=SIZE, height=SIZE)


def _request(**kw) -> GenerationRequest:
    base = dict(prompt=CALL["prompt"], negative_prompt=CALL["negative_prompt"], seed=42, steps=4, cfg_scale=6.5,
                width=SIZE, height=SIZE, scheduler="euler")
    return GenerationRequest(**(base | kw))


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def _engine(folder, **options) -> Engine:
    engine = Engine("cpu", previews="linear", **options)
    engine.load(str(folder))
    return engine


def _with_tiny_vae(folder, taesd) -> np.ndarray:
    """diffusers' pipeline with the TAESD as its VAE (how diffusers' docs use one), Euler, a CPU generator."""
    pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True)
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    pipe.vae = AutoencoderTiny.from_pretrained(taesd, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return _pixels(pipe(generator=torch.Generator("cpu").manual_seed(42), **CALL).images[0])


@pytest.mark.parametrize("model, folder", [("tiny_sd_dir", "taesd"), ("tiny_sdxl_dir", "taesdxl")])
def test_a_draft_is_diffusers_picture_with_the_tiny_autoencoder_as_its_vae(model, folder, request, tmp_path):
    model_dir = request.getfixturevalue(model)
    taesd = save_tiny_taesd(models_dir() / folder)
    engine = _engine(model_dir, draft_decode=True)
    notices: list[str] = []

    draft = engine.generate(_request(), on_notice=notices.append)
    engine.draft_decode = False
    full = engine.generate(_request())

    assert notices == []
    assert np.array_equal(_pixels(draft.images[0]), _with_tiny_vae(model_dir, taesd))
    assert np.abs(_pixels(draft.images[0]) - _pixels(full.images[0])).max() > 10  # not the VAE's picture
    recipe = draft.recipes[0]
    assert recipe.decoder == "TAESD" and full.recipes[0].decoder == ""
    assert "Decoder: TAESD" in format_parameters(recipe) and "Decoder" not in format_parameters(full.recipes[0])
    saved = read_recipe(save_image(draft.images[0], recipe))
    assert saved.decoder == "TAESD"


def test_a_draft_batch_decodes_every_image(tiny_sd_dir):
    save_tiny_taesd(models_dir() / "taesd")
    engine = _engine(tiny_sd_dir, draft_decode=True)

    batch = engine.generate(_request(batch_size=2))
    single = engine.generate(_request(seed=43))

    assert [image.size for image in batch.images] == [(SIZE, SIZE)] * 2
    assert [r.decoder for r in batch.recipes] == ["TAESD", "TAESD"]
    assert np.abs(_pixels(batch.images[1]) - _pixels(single.images[0])).max() <= 1  # a batch nearly matches singles


def _source() -> Image.Image:
    return Image.fromarray(np.random.default_rng(7).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))


def test_a_draft_inpainting_keeps_every_pixel_outside_the_mask(tiny_sd_dir):
    save_tiny_taesd(models_dir() / "taesd")
    engine = _engine(tiny_sd_dir, draft_decode=True)
    mask = Image.new("L", (SIZE, SIZE), 0)
    mask.paste(255, (16, 16, 48, 48))

    result = engine.generate(_request(init_image=_source(), mask=mask, strength=0.9, mask_feather=0))

    outside = np.asarray(mask) == 0
    picture = _pixels(result.images[0])
    assert np.array_equal(picture[outside], _pixels(_source())[outside])
    assert np.abs(picture[~outside] - _pixels(_source())[~outside]).max() > 10
    assert result.recipes[0].decoder == "TAESD"


def test_without_a_tiny_autoencoder_the_draft_says_where_to_put_one_and_uses_the_vae(tiny_sd_dir, sd_engine):
    engine = _engine(tiny_sd_dir, draft_decode=True)
    notices: list[str] = []

    result = engine.generate(_request(), on_notice=notices.append)

    assert notices == [f"Draft decoding needs a tiny autoencoder: put madebyollin/taesd (its config.json and "
                       f"diffusion_pytorch_model.safetensors) in {models_dir() / 'taesd'}; this picture used the "
                       "full VAE."]
    assert np.array_equal(_pixels(result.images[0]), _pixels(sd_engine.generate(_request()).images[0]))
    assert result.recipes[0].decoder == ""
    save_tiny_taesd(models_dir() / "taesd")  # put there now: the next run finds it, no reload
    assert engine.generate(_request()).recipes[0].decoder == "TAESD"


def test_a_draft_on_openvino_is_pytorchs_draft_within_two_levels(tiny_sd_dir):
    pytest.importorskip("openvino", reason="OpenVINO is an optional extra")
    save_tiny_taesd(models_dir() / "taesd")
    notices: list[str] = []

    ours = _engine(tiny_sd_dir, draft_decode=True, backend="openvino").generate(_request(), on_notice=notices.append)
    theirs = _engine(tiny_sd_dir, draft_decode=True).generate(_request())

    assert not [n for n in notices if "PyTorch" in n]  # the UNet ran on OpenVINO
    assert np.abs(_pixels(ours.images[0]) - _pixels(theirs.images[0])).max() <= 2
    assert ours.recipes[0].decoder == "TAESD"


def test_the_cli_draft_flag_writes_a_draft_that_says_so(tiny_sd_dir, tmp_path, capsys):
    save_tiny_taesd(models_dir() / "taesd")
    out = tmp_path / "draft.png"

    assert cli.main(["generate", "--model", str(tiny_sd_dir), "--prompt", "a fox", "--steps", "2", "--width", "64",
                     "--height", "64", "--device", "cpu", "--draft-decode", "--out", str(out)]) == 0

    assert read_recipe(out).decoder == "TAESD"
    assert "Decoder: TAESD" in Image.open(out).text["parameters"]
