"""Z-Image beyond the shared flow-family checks (``test_flow_families.py``): Turbo told apart by its scheduler and
run as diffusers runs it, the prompt as plain text, folders recognised, transformer files (diffusers' layout, the
original one, GGUF) loaded with the rest of a library folder."""

import shutil

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline
from PIL import Image
from safetensors.torch import load_file, save_file

from studio.core.errors import StudioError
from studio.core.fewstep import detect_source
from studio.core.model_folders import LibraryFolder, ModelKind
from studio.core.model_info import ModelFamily
from studio.core.model_scan import scan
from studio.core.request import GenerationRequest
from studio.engine import families
from studio.engine.engine import Engine
from tests.conftest import _engine
from tests.model_files import write_q8_0_gguf
from tests.tiny_models import z_image_original_layout

SIZE = 64
PROMPT = "a red fox in snow"


def _request(**kw) -> GenerationRequest:
    return GenerationRequest(**(dict(prompt=PROMPT, seed=42, steps=4, cfg_scale=5.0, width=SIZE, height=SIZE) | kw))


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def _direct(folder, **call) -> Image.Image:
    pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    call = dict(prompt=PROMPT, num_inference_steps=4, guidance_scale=5.0, width=SIZE, height=SIZE) | call
    return pipe(generator=[torch.Generator("cpu").manual_seed(42)], **call).images[0]


@pytest.fixture(scope="module")
def turbo_engine(tiny_z_image_turbo_dir):
    return _engine(tiny_z_image_turbo_dir)


def test_the_base_model_takes_cfg_and_the_defaults_of_diffusers_signature(tiny_z_image_dir):
    controls = _engine(tiny_z_image_dir).info.controls
    assert (controls.default_guidance, controls.default_steps, controls.negative_prompt) == (5.0, 50, True)
    assert controls.size_multiple == 16 and controls.prompt_note and not controls.latent_hires
    assert "0 turns it off" in controls.guidance_tip


def test_turbo_is_told_apart_by_its_scheduler_and_offers_no_sdxl_turbo_preset(turbo_engine, tiny_z_image_turbo_dir):
    info = turbo_engine.info
    assert info.family is ModelFamily.Z_IMAGE
    controls = info.controls
    assert (controls.default_guidance, controls.default_steps, controls.negative_prompt) == (0.0, 8, True)
    assert controls.guidance_used and "distilled" in controls.guidance_tip
    # Its name says "turbo", which the few-step detection reads as SDXL-Turbo (a sampler Z-Image cannot use).
    assert detect_source(str(tiny_z_image_turbo_dir)) is not None
    assert info.fewstep is None


def test_turbo_matches_diffusers_without_cfg_and_with_it(turbo_engine, tiny_z_image_turbo_dir):
    without = turbo_engine.generate(_request(cfg_scale=0.0, negative_prompt="blurry"))
    expected = _direct(tiny_z_image_turbo_dir, guidance_scale=0.0)  # no CFG: no negative prompt either
    assert np.array_equal(_pixels(without.images[0]), _pixels(expected))
    assert (without.recipes[0].model_family, without.recipes[0].cfg_scale) == ("z_image", 0.0)
    with_cfg = turbo_engine.generate(_request(cfg_scale=1.5, negative_prompt="blurry"))
    expected = _direct(tiny_z_image_turbo_dir, guidance_scale=1.5, negative_prompt="blurry")
    assert np.array_equal(_pixels(with_cfg.images[0]), _pixels(expected))
    assert not np.array_equal(_pixels(with_cfg.images[0]), _pixels(without.images[0]))


def test_weights_are_read_as_plain_text_for_the_llm_and_the_prompt_changes_the_image(turbo_engine,
                                                                                      tiny_z_image_turbo_dir):
    weighted = turbo_engine.generate(_request(prompt="a (red:1.3) fox in snow", cfg_scale=0.0)).images[0]
    assert np.array_equal(_pixels(weighted), _pixels(_direct(tiny_z_image_turbo_dir, guidance_scale=0.0)))
    cat = turbo_engine.generate(_request(prompt="a cat", cfg_scale=0.0)).images[0]
    assert not np.array_equal(_pixels(weighted), _pixels(cat))


def test_its_own_sampler_and_its_size_multiple_are_enforced_in_one_sentence(turbo_engine):
    with pytest.raises(StudioError, match="own flow-matching Euler sampler"):
        turbo_engine.generate(_request(scheduler="euler_a"))
    with pytest.raises(StudioError, match=r"multiple of 16 for Z-Image models \(got 72; try 64 or 80\)"):
        turbo_engine.generate(_request(width=72))


def test_folders_are_recognised_loaded_and_in_the_library(tmp_path, tiny_z_image_dir, tiny_z_image_turbo_dir):
    for folder in (tiny_z_image_dir, tiny_z_image_turbo_dir):
        pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True)
        assert families.plugin_for(pipe, folder.name)[1] is ModelFamily.Z_IMAGE
    (entry,) = scan(_library_with(tmp_path, tiny_z_image_dir)())
    assert (entry.name, entry.family) == ("Z-Image", ModelFamily.Z_IMAGE)


# ------------------------------------------------------------------------------------------- transformer files
def _transformer_weights(folder) -> dict:
    return load_file(next((folder / "transformer").glob("*.safetensors")))


def _library_with(tmp_path, folder):
    """A model library whose checkpoint folder holds a copy of the diffusers ``folder``."""
    root = tmp_path / "checkpoints"
    shutil.copytree(folder, root / "Z-Image")
    return lambda: [LibraryFolder(root, ModelKind.CHECKPOINT)]


@pytest.mark.parametrize("layout", ["diffusers", "original"])
def test_a_transformer_file_takes_the_rest_from_a_library_folder(tmp_path, tiny_z_image_dir, layout):
    weights = _transformer_weights(tiny_z_image_dir)
    if layout == "original":
        weights = z_image_original_layout(weights)
    path = tmp_path / "z_image_bf16.safetensors"
    save_file(weights, str(path))
    assert families.detect_checkpoint(path) == (ModelFamily.Z_IMAGE, False)
    engine = Engine("cpu", previews="linear", library=_library_with(tmp_path, tiny_z_image_dir))
    info = engine.load(str(path))
    assert (info.family, info.name) == (ModelFamily.Z_IMAGE, "z_image_bf16")
    result = engine.generate(_request(negative_prompt="blurry"))
    expected = _direct(tiny_z_image_dir, negative_prompt="blurry")
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))


def test_a_transformer_file_without_a_library_folder_is_refused_in_one_sentence(tmp_path, tiny_z_image_dir):
    path = tmp_path / "z_image_turbo_bf16.safetensors"
    save_file(_transformer_weights(tiny_z_image_dir), str(path))
    engine = Engine("cpu", previews="linear")  # the test's own (empty) model library
    with pytest.raises(StudioError, match="holds only a Z-Image transformer.*Z-Image diffusers folder") as err:
        engine.load(str(path))
    assert "\n" not in str(err.value)


def test_a_gguf_file_in_the_original_layout_loads_quantized(tmp_path, tiny_z_image_dir):
    pytest.importorskip("gguf")
    weights = z_image_original_layout(_transformer_weights(tiny_z_image_dir), prefix="")  # as ComfyUI's files
    path = tmp_path / "z_image_turbo-Q8_0.gguf"
    assert write_q8_0_gguf(path, {name: tensor.float().numpy() for name, tensor in weights.items()}, "z_image") > 10
    assert families.detect_checkpoint(path) == (ModelFamily.Z_IMAGE, False)
    engine = Engine("cpu", previews="linear", library=_library_with(tmp_path, tiny_z_image_dir))
    engine.load(str(path))
    weight = engine._loaded.pipe.transformer.layers[0].attention.to_q.weight  # a third of the fused 96 x 32 qkv
    assert type(weight).__name__ == "GGUFParameter"  # kept quantized, split by diffusers' conversion
    out = _pixels(engine.generate(_request(negative_prompt="blurry")).images[0]).astype(int)
    assert np.abs(out - _pixels(_direct(tiny_z_image_dir, negative_prompt="blurry"))).max() <= 5  # Q8_0 rounding on random tiny weights (measured: 4)
