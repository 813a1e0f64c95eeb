"""What only Flux.2 Klein does, on the real engine with tiny random Klein pipelines (the checks every flow-matching
family shares are in ``test_flow_families.py``): its controls, the distilled kind, previews unpacked from its
2x2-patch tokens, image-to-image at full strength as a reference edit, hires fix, Flux.2 [dev] refused."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline
from PIL import Image

from studio.core.errors import StudioError
from studio.core.hires import HiresPass
from studio.core.model_info import ModelFamily
from studio.core.request import GenerationRequest
from studio.engine import families
from studio.engine.previews import linear_preview
from tests import tiny_models
from tests.conftest import _engine

SIZE = 64
PROMPT = "a red fox in snow"


@pytest.fixture(scope="module")
def klein(tiny_flux2_klein_dir):
    return _engine(tiny_flux2_klein_dir)


@pytest.fixture(scope="module")
def distilled_dir(tmp_path_factory):
    return tiny_models.build_tiny_flux2_klein(tmp_path_factory.mktemp("tiny_klein_distilled"), distilled=True)


def _request(**kw) -> GenerationRequest:
    return GenerationRequest(**(dict(prompt=PROMPT, seed=42, steps=4, cfg_scale=4.0, width=SIZE, height=SIZE) | kw))


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def _reference(folder):
    pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _seed() -> list[torch.Generator]:
    return [torch.Generator("cpu").manual_seed(42)]


def _source() -> Image.Image:
    return Image.fromarray(np.random.default_rng(7).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))


def test_base_klein_controls_are_its_pipelines_defaults(klein):
    info = klein.info
    assert (info.family, info.family.label, info.edits) == (ModelFamily.FLUX2, "Flux.2 Klein", False)
    controls = info.controls
    assert (controls.default_guidance, controls.default_steps, controls.guidance_used) == (4.0, 50, True)
    assert controls.negative_prompt and controls.own_sampler and controls.size_multiple == 16
    assert controls.prompt_note and not controls.latent_hires


def test_distilled_klein_has_no_cfg_and_matches_diffusers(distilled_dir):
    engine = _engine(distilled_dir)
    controls = engine.info.controls
    assert (controls.guidance_used, controls.negative_prompt, controls.default_steps) == (False, False, 4)
    result = engine.generate(_request(cfg_scale=1.0, negative_prompt="blurry"))
    expected = _reference(distilled_dir)(prompt=PROMPT, num_inference_steps=4, guidance_scale=1.0, width=SIZE,
                                         height=SIZE, generator=_seed()).images[0]
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))
    assert result.recipes[0].negative_prompt == ""  # not used, so not recorded


def test_prompt_weights_are_read_as_plain_text(klein):
    plain = _pixels(klein.generate(_request()).images[0])
    weighted = _pixels(klein.generate(_request(prompt="a (red fox:1.3) in snow")).images[0])
    assert np.array_equal(plain, weighted)
    assert not np.array_equal(plain, _pixels(klein.generate(_request(prompt="a blue bird")).images[0]))


def test_the_last_preview_is_the_final_latent_unpacked_from_its_patch_tokens(klein, tiny_flux2_klein_dir):
    updates = []
    klein.generate(_request(), on_step=updates.append)
    pipe = _reference(tiny_flux2_klein_dir)
    final = {}

    def keep(p, i, t, tensors):
        final["latents"] = tensors["latents"]
        return {}

    pipe(prompt=PROMPT, num_inference_steps=4, guidance_scale=4.0, width=SIZE, height=SIZE, generator=_seed(),
         callback_on_step_end=keep, output_type="latent")
    # diffusers' own unpacking: the tokens scattered by their position ids, then the 2x2 patches unfolded.
    ids = pipe._prepare_latent_ids(torch.zeros(1, 128, SIZE // 16, SIZE // 16))
    patches = pipe._unpack_latents_with_ids(final["latents"], ids)
    latents = pipe._unpatchify_latents(patches)
    assert latents.shape == (1, 32, SIZE // 8, SIZE // 8)
    plugin = families.plugin_of_family(ModelFamily.FLUX2)
    expected = linear_preview(latents, plugin.preview_factors(ModelFamily.FLUX2))
    # The last step lands on sigma 0, where x0 = x_t - sigma * v is the final latent itself.
    assert np.abs(updates[-1].preview.astype(int) - expected.astype(int)).max() <= 1
    assert not np.array_equal(updates[0].preview, updates[-1].preview)


def test_image_to_image_at_full_strength_is_diffusers_reference_edit(klein, tiny_flux2_klein_dir):
    src = _source()
    result = klein.generate(_request(prompt="make it night", init_image=src, strength=1.0))
    # No negative prompt: both pipelines use their own, "".
    expected = _reference(tiny_flux2_klein_dir)(prompt="make it night", image=src, num_inference_steps=4,
                                                guidance_scale=4.0, width=SIZE, height=SIZE,
                                                generator=_seed()).images[0]
    out = _pixels(result.images[0])
    assert np.array_equal(out, _pixels(expected))
    assert not np.array_equal(out, _pixels(klein.generate(_request(prompt="make it night")).images[0]))


def test_hires_fix_refines_an_upscale_through_image_to_image(klein):
    hires = HiresPass(scale=2, strength=0.5, steps=2, upscaler="Lanczos")
    updates = []
    result = klein.generate(_request(hires=hires), on_step=updates.append)
    image = result.images[0]
    assert image.size == (2 * SIZE, 2 * SIZE) and result.recipes[0].hires == hires
    assert updates[-1].step == updates[-1].total and updates[-1].preview.shape == (SIZE // 4, SIZE // 4, 3)
    base = klein.generate(_request()).images[0].resize(image.size, Image.LANCZOS)
    assert not np.array_equal(_pixels(image), _pixels(base))


@pytest.mark.parametrize("kw, message", [(dict(scheduler="euler_a"), "flow-matching"), (dict(width=72), "multiple of 16"),
                                         (dict(hires=HiresPass(upscaler="Latent")), "Lanczos")])
def test_what_klein_cannot_do_is_one_sentence(klein, kw, message):
    with pytest.raises(StudioError, match=message) as err:
        klein.generate(_request(**kw))
    assert "\n" not in str(err.value)


def test_flux2_dev_is_recognised_and_refused_in_one_sentence(klein):
    # Flux.2 [dev]: the same transformer class, a Mistral encoder instead of Klein's Qwen3.
    dev = SimpleNamespace(transformer=klein._loaded.pipe.transformer, text_encoder=None)
    with pytest.raises(StudioError, match=r"Flux\.2 \[dev\]") as err:
        families.plugin_for(dev, "FLUX.2-dev")
    assert "\n" not in str(err.value)
