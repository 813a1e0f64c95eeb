"""Flux.1 on the family plug-in: the real engine on tiny random Flux pipelines against diffusers' own."""

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline, FluxFillPipeline, FluxImg2ImgPipeline, FluxInpaintPipeline
from PIL import Image
from safetensors.torch import save_file

from studio.core import mask as maskmath
from studio.core.cancel import CancelToken
from studio.core.errors import GenerationCancelled, StudioError
from studio.core.model_info import ModelFamily
from studio.core.request import GenerationRequest
from studio.engine import families
from studio.engine.engine import Engine
from studio.engine.previews import linear_preview
from tests.model_files import write_q8_0_gguf

SIZE = 64
PROMPT = "a red fox in snow"


def _request(**kw) -> GenerationRequest:
    base = dict(prompt=PROMPT, seed=42, steps=4, cfg_scale=3.5, width=SIZE, height=SIZE)
    base.update(kw)
    return GenerationRequest(**base)


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def _direct(folder, pipeline_cls=DiffusionPipeline, **call):
    """diffusers' own pipeline with the same settings (CPU generator, the model's own scheduler)."""
    pipe = pipeline_cls.from_pretrained(folder, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    call = dict(prompt=PROMPT, num_inference_steps=4, guidance_scale=3.5, width=SIZE, height=SIZE) | call
    return pipe(generator=[torch.Generator("cpu").manual_seed(call.pop("seed", 42))], **call).images[0]


def _source() -> Image.Image:
    return Image.fromarray(np.random.default_rng(7).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))


def _mask() -> Image.Image:
    mask = Image.new("L", (SIZE, SIZE), 0)
    mask.paste(255, (21, 19, 37, 35))  # off the latent grid
    return mask


# ------------------------------------------------------------------------------------------- pixels
def test_text_to_image_matches_diffusers(flux_engine, tiny_flux_dir):
    result = flux_engine.generate(_request())
    assert np.array_equal(_pixels(result.images[0]), _pixels(_direct(tiny_flux_dir)))
    assert result.recipes[0].model_family == "flux"
    assert result.recipes[0].cfg_scale == 3.5


def test_image_to_image_matches_diffusers(flux_engine, tiny_flux_dir):
    src = _source()
    result = flux_engine.generate(_request(init_image=src, strength=0.6))
    expected = _direct(tiny_flux_dir, FluxImg2ImgPipeline, image=src, strength=0.6)
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))


@pytest.mark.parametrize("model, pipeline_cls", [("tiny_flux_dir", FluxInpaintPipeline),
                                                  ("tiny_flux_fill_dir", FluxFillPipeline)])
def test_inpainting_keeps_unmasked_pixels_and_matches_diffusers_inside(model, pipeline_cls, request):
    folder = request.getfixturevalue(model)
    engine = Engine("cpu", previews="linear")
    info = engine.load(str(folder))
    assert info.inpaint_unet is (pipeline_cls is FluxFillPipeline)
    src, mask = _source(), _mask()
    result = engine.generate(_request(init_image=src, mask=mask, strength=1.0, mask_feather=3))
    out, source = _pixels(result.images[0]), _pixels(src)
    paste = np.asarray(maskmath.composite_mask(mask, 3))
    assert np.array_equal(out[paste == 0], source[paste == 0])
    expected = _direct(folder, pipeline_cls, image=src, mask_image=maskmath.dilate_to_grid(mask), strength=1.0)
    inside = paste == 255
    assert np.array_equal(out[inside], _pixels(expected)[inside])
    assert not np.array_equal(out[inside], source[inside])


def test_fill_model_makes_pictures_from_text_too(tiny_flux_fill_dir):
    engine = Engine("cpu", previews="linear")
    engine.load(str(tiny_flux_fill_dir))
    assert engine.generate(_request()).images[0].size == (SIZE, SIZE)


def test_schnell_matches_diffusers_and_its_controls_say_no_guidance(tiny_flux_schnell_dir):
    engine = Engine("cpu", previews="linear")
    controls = engine.load(str(tiny_flux_schnell_dir)).controls
    assert (controls.guidance_used, controls.default_steps, controls.negative_prompt) == (False, 4, False)
    result = engine.generate(_request(cfg_scale=0.0))
    assert np.array_equal(_pixels(result.images[0]), _pixels(_direct(tiny_flux_schnell_dir, guidance_scale=0.0)))


def test_controls_are_distilled_guidance_without_negative_prompt(flux_engine):
    info = flux_engine.info
    assert info.family is ModelFamily.FLUX
    controls = info.controls
    assert controls.guidance_label == "Distilled CFG" and controls.default_guidance == 3.5
    assert not controls.negative_prompt and controls.own_sampler and controls.size_multiple == 16


def test_negative_prompt_and_prompt_weights_are_read_as_plain_text(flux_engine):
    plain = _pixels(flux_engine.generate(_request(prompt="a red fox in snow")).images[0])
    weighted = _pixels(flux_engine.generate(_request(prompt="a (red fox:1.3) in snow", negative_prompt="blurry"))
                       .images[0])
    assert np.array_equal(plain, weighted)
    other = _pixels(flux_engine.generate(_request(prompt="a blue bird")).images[0])
    assert not np.array_equal(plain, other)


@pytest.mark.parametrize("kw, message", [
    (dict(scheduler="euler_a"), "flow-matching"),
    (dict(width=72), "multiple of 16"),
])
def test_what_flux_cannot_do_is_one_sentence(flux_engine, kw, message):
    with pytest.raises(StudioError, match=message) as err:
        flux_engine.generate(_request(**kw))
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------------------------------- previews, cancel
def test_a_preview_every_step_and_the_last_is_the_final_latent(flux_engine, tiny_flux_dir):
    updates = []
    flux_engine.generate(_request(), on_step=updates.append)
    assert [(u.step, u.total) for u in updates] == [(i, 4) for i in range(1, 5)]
    assert updates[0].preview.shape == (SIZE // 8, SIZE // 8, 3)
    # The last step lands on sigma 0, where x0 = x_t - sigma * v is the final latent itself.
    pipe = DiffusionPipeline.from_pretrained(tiny_flux_dir, local_files_only=True)
    packed = pipe(prompt=PROMPT, num_inference_steps=4, guidance_scale=3.5, width=SIZE, height=SIZE,
                  generator=[torch.Generator("cpu").manual_seed(42)], output_type="latent").images
    latents = pipe._unpack_latents(packed, SIZE, SIZE, pipe.vae_scale_factor)
    plugin = families.plugin_of_family(ModelFamily.FLUX)
    expected = linear_preview(latents, plugin.preview_factors(ModelFamily.FLUX))
    assert np.abs(updates[-1].preview.astype(int) - expected.astype(int)).max() <= 1
    assert not np.array_equal(updates[0].preview, updates[-1].preview)


def test_cancel_inside_a_step_stops_the_transformer_without_decoding(flux_engine):
    token = CancelToken()
    pipe = flux_engine._loaded.pipe
    calls, decodes = [], []

    def count(*_):
        calls.append(1)
        token.cancel()

    handles = [pipe.transformer.transformer_blocks[0].register_forward_pre_hook(count),
               pipe.vae.decoder.register_forward_pre_hook(lambda *a: decodes.append(1))]
    try:
        with pytest.raises(GenerationCancelled):
            flux_engine.generate(_request(steps=20), cancel=token)
    finally:
        for handle in handles:
            handle.remove()
    assert len(calls) == 1 and decodes == []
    assert flux_engine.generate(_request()).images


# ------------------------------------------------------------------------------------------- detection
def _transformer_file(path, img_in_channels: int, prefix: str = ""):
    keys = {"double_blocks.0.img_attn.qkv.weight": (48, 16), "img_in.weight": (32, img_in_channels),
            "single_blocks.0.linear1.weight": (8, 4)}
    save_file({prefix + k: torch.zeros(shape) for k, shape in keys.items()}, str(path))
    return path


@pytest.mark.parametrize("prefix", ["", "model.diffusion_model."])
def test_single_file_keys_tell_flux_and_fill(tmp_path, prefix):
    dev = _transformer_file(tmp_path / "flux1-dev.safetensors", 64, prefix)
    fill = _transformer_file(tmp_path / "flux1-fill-dev.safetensors", 384, prefix)
    assert families.detect_checkpoint(dev) == (ModelFamily.FLUX, False)
    assert families.detect_checkpoint(fill) == (ModelFamily.FLUX, True)


def test_a_flux_transformer_file_alone_is_refused_with_one_sentence(tmp_path):
    engine = Engine("cpu", previews="linear")
    with pytest.raises(StudioError, match="diffusers folder") as err:
        engine.load(str(_transformer_file(tmp_path / "flux1-dev.safetensors", 64)))
    assert "\n" not in str(err.value)


def test_folders_are_recognised_by_their_transformer(tiny_flux_dir, tiny_flux_kontext_dir, tiny_sd_dir):
    for folder, family in ((tiny_flux_dir, ModelFamily.FLUX), (tiny_flux_kontext_dir, ModelFamily.FLUX),
                           (tiny_sd_dir, ModelFamily.SD1)):
        pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True)
        assert families.plugin_for(pipe, folder.name)[1] is family


# ------------------------------------------------------------------------------------------- instruction editing
def test_kontext_edits_the_image_with_an_instruction_as_diffusers_does(tiny_flux_kontext_dir):
    from diffusers import FluxKontextPipeline

    engine = Engine("cpu", previews="linear")
    assert engine.load(str(tiny_flux_kontext_dir)).edits
    src = _source()
    updates = []
    result = engine.generate(_request(prompt="make it night", init_image=src, strength=0.6), on_step=updates.append)
    expected = _direct(tiny_flux_kontext_dir, FluxKontextPipeline, prompt="make it night", image=src,
                       max_area=SIZE * SIZE)
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))
    assert [u.step for u in updates] == [1, 2, 3, 4]
    recipe = result.recipes[0]
    assert (recipe.mode, recipe.strength, recipe.model_family) == ("edit", None, "flux")


# ------------------------------------------------------------------------------------------- transformer files
def _library_with(tmp_path, folder):
    """A model library whose checkpoint folder holds a copy of the diffusers ``folder``."""
    import shutil

    from studio.core.model_folders import LibraryFolder, ModelKind

    root = tmp_path / "checkpoints"
    shutil.copytree(folder, root / "FLUX.1-dev")
    return lambda: [LibraryFolder(root, ModelKind.CHECKPOINT)]


def _transformer_weights(folder) -> dict:
    from safetensors.torch import load_file

    return load_file(next((folder / "transformer").glob("*.safetensors")))


def test_a_transformer_file_takes_the_rest_from_a_library_folder(tmp_path, tiny_flux_dir):
    path = tmp_path / "flux1-dev-transformer.safetensors"
    save_file(_transformer_weights(tiny_flux_dir), str(path))
    engine = Engine("cpu", previews="linear", library=_library_with(tmp_path, tiny_flux_dir))
    info = engine.load(str(path))
    assert (info.family, info.name) == (ModelFamily.FLUX, "flux1-dev-transformer")
    result = engine.generate(_request())
    assert np.array_equal(_pixels(result.images[0]), _pixels(_direct(tiny_flux_dir)))


def test_an_fp8_transformer_file_loads_upcast_and_generates_close_to_full_precision(tmp_path, tiny_flux_dir):
    path = tmp_path / "flux1-dev-fp8-e4m3fn.safetensors"
    full = _transformer_weights(tiny_flux_dir)
    save_file({k: v.to(torch.float8_e4m3fn) for k, v in full.items()}, str(path))
    engine = Engine("cpu", previews="linear", library=_library_with(tmp_path, tiny_flux_dir))
    engine.load(str(path))
    weight = engine._loaded.pipe.transformer.x_embedder.weight
    assert weight.dtype == torch.float32  # upcast to the run's dtype as it loads
    assert torch.equal(weight, full["x_embedder.weight"].to(torch.float8_e4m3fn).float())
    out = _pixels(engine.generate(_request()).images[0]).astype(int)
    assert 0 < np.abs(out - _pixels(_direct(tiny_flux_dir))).max() <= 12  # 3-bit mantissas (6% steps)


def test_a_gguf_file_written_with_the_gguf_package_loads_quantized(tmp_path, tiny_flux_dir):
    pytest.importorskip("gguf")
    path = tmp_path / "flux1-dev-Q8_0.gguf"
    arrays = {name: tensor.float().numpy() for name, tensor in _transformer_weights(tiny_flux_dir).items()}
    assert write_q8_0_gguf(path, arrays, "flux") > 10
    assert families.detect_checkpoint(path) == (ModelFamily.FLUX, False)
    engine = Engine("cpu", previews="linear", library=_library_with(tmp_path, tiny_flux_dir))
    engine.load(str(path))
    weight = engine._loaded.pipe.transformer.transformer_blocks[0].ff.net[0].proj.weight  # 128 x 32
    assert type(weight).__name__ == "GGUFParameter"  # kept quantized, dequantized per layer
    out = _pixels(engine.generate(_request()).images[0]).astype(int)
    assert np.abs(out - _pixels(_direct(tiny_flux_dir))).max() <= 3  # 8-bit weights: within a few levels


def test_a_damaged_gguf_file_is_one_sentence(tmp_path):
    pytest.importorskip("gguf")
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"GGUF" + b"\x00" * 20)
    with pytest.raises(StudioError, match="not a valid GGUF file"):
        Engine("cpu", previews="linear").load(str(path))


def test_parameters_text_writes_distilled_guidance_as_forge_does_and_reads_it_back():
    from studio.core.metadata import format_parameters, recipe_from_parameters
    from studio.core.recipe import Recipe

    recipe = Recipe(prompt="a fox", negative_prompt="", seed=1, steps=28, cfg_scale=3.5, width=1024, height=1024,
                    sampler="Euler", model="flux1-dev", model_family="flux")
    text = format_parameters(recipe)
    assert "CFG scale: 1, Distilled CFG Scale: 3.5" in text
    back = recipe_from_parameters(text)
    assert (back.cfg_scale, back.model_family) == (3.5, "flux")


def test_canvas_images_are_fitted_to_the_family_grid_of_16(flux_engine):
    from studio.core import region
    from studio.core.jobs import image_job

    assert region.plan((1000, 750), None, 1024).size == (1000, 752)  # SD's grid of 8: 1000 is no Flux size
    assert region.plan((1000, 750), None, 1024, grid=16).size == (992, 752)
    src = Image.fromarray(np.random.default_rng(3).integers(0, 256, (75, 100, 3), dtype=np.uint8))
    job = image_job(_request(strength=0.5), src, None, native=SIZE, grid=flux_engine.info.controls.size_multiple)
    assert job.request.width % 16 == 0 and job.request.height % 16 == 0
    [placed] = job.place(flux_engine.generate(job.request).images)
    assert placed.size == src.size


def test_cli_uses_the_family_defaults_and_says_what_it_does_with_the_prompts(tiny_flux_dir, capsys):
    from pathlib import Path

    from studio import cli
    from studio.core.metadata import read_recipe

    assert cli.main(["generate", "--model", str(tiny_flux_dir), "--prompt", "a (fox:1.2)", "--negative", "fog",
                     "--steps", "2", "--width", "64", "--height", "64", "--device", "cpu", "--seed", "3"]) == 0
    out, err = capsys.readouterr()
    recipe = read_recipe(Path(out.strip()))
    assert (recipe.cfg_scale, recipe.negative_prompt, recipe.model_family) == (3.5, "", "flux")  # no --cfg: 3.5
    assert "Flux.1 models have no negative prompt" in err and "weights are removed" in err
    assert cli.main(["generate", "--model", str(tiny_flux_dir), "--prompt", "a fox", "--steps", "2", "--width", "64",
                     "--height", "64", "--device", "cpu", "--scheduler", "euler"]) == 2
    assert "flow-matching" in capsys.readouterr().err
