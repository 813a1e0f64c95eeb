"""SD 3.5 single files: recognised from the header, loaded with what they lack (their tokenizers at least) from an
SD 3.5 diffusers folder of the same architecture in the model library, with the file's own weights for what it holds.

The library folder is another tiny SD 3.5 (other random weights), so the pixels show which weights were used."""

import json
import shutil

import numpy as np
import pytest
import torch
from diffusers import StableDiffusion3Pipeline

from studio.core.errors import StudioError
from studio.core.model_folders import LibraryFolder, ModelKind
from studio.core.model_info import ModelFamily
from studio.core.request import GenerationRequest
from studio.engine import families
from studio.engine.engine import Engine
from tests import tiny_models

SIZE = 64
PROMPT, NEGATIVE = "a red fox in snow", "blurry"
LAYOUTS = {  # what the file holds besides the transformer
    "everything": dict(text_encoders=True, vae=True),
    "with-vae": dict(text_encoders=False, vae=True),
    "transformer-only": dict(text_encoders=False, vae=False),
}
HELD = {"everything": ("transformer", "vae", "text_encoder", "text_encoder_2", "text_encoder_3"),
        "with-vae": ("transformer", "vae"), "transformer-only": ("transformer",)}


@pytest.fixture(scope="module")
def other_sd3_dir(tmp_path_factory):
    """A second tiny SD 3.5 with the same architecture and other weights: the library's folder."""
    return tiny_models.build_tiny_sd3(tmp_path_factory.mktemp("tiny_sd3_other"), seed=1)


def _library(tmp_path, folder, name="stable-diffusion-3.5-tiny"):
    root = tmp_path / "checkpoints"
    shutil.copytree(folder, root / name)
    return lambda: [LibraryFolder(root, ModelKind.CHECKPOINT)], root / name


def _request() -> GenerationRequest:
    return GenerationRequest(prompt=PROMPT, negative_prompt=NEGATIVE, seed=42, steps=3, cfg_scale=5.0, width=SIZE,
                             height=SIZE)


def _expected(file_dir, base_dir, held) -> np.ndarray:
    """diffusers' own pipeline with the held components from the file's folder and the rest from the base."""
    mine = StableDiffusion3Pipeline.from_pretrained(file_dir, local_files_only=True)
    base = StableDiffusion3Pipeline.from_pretrained(base_dir, local_files_only=True)
    pipe = StableDiffusion3Pipeline(**(base.components | {name: getattr(mine, name) for name in held}))
    pipe.set_progress_bar_config(disable=True)
    image = pipe(prompt=PROMPT, negative_prompt=NEGATIVE, num_inference_steps=3, guidance_scale=5.0, width=SIZE,
                 height=SIZE, generator=[torch.Generator("cpu").manual_seed(42)]).images[0]
    return np.asarray(image.convert("RGB"))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_header_tells_an_sd3_file(tmp_path, tiny_sd3_dir, layout):
    path = tiny_models.save_sd3_single_file(tiny_sd3_dir, tmp_path / "sd3.5.safetensors", **LAYOUTS[layout])
    assert families.detect_checkpoint(path) == (ModelFamily.SD3, False)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_file_uses_its_own_weights_and_the_library_folder_for_the_rest(tmp_path, tiny_sd3_dir, other_sd3_dir,
                                                                         layout):
    path = tiny_models.save_sd3_single_file(tiny_sd3_dir, tmp_path / "sd3.5-tiny.safetensors", **LAYOUTS[layout])
    library, _ = _library(tmp_path, other_sd3_dir)
    engine = Engine("cpu", previews="linear", library=library)
    info = engine.load(str(path))
    assert (info.family, info.name) == (ModelFamily.SD3, "sd3.5-tiny")
    ours = np.asarray(engine.generate(_request()).images[0].convert("RGB"))
    assert np.array_equal(ours, _expected(tiny_sd3_dir, other_sd3_dir, HELD[layout]))
    if layout == "everything":  # all the weights are the file's: the pixels of its own folder
        folder_engine = Engine("cpu", previews="linear")
        folder_engine.load(str(tiny_sd3_dir))
        assert np.array_equal(ours, np.asarray(folder_engine.generate(_request()).images[0].convert("RGB")))


def test_without_a_folder_of_the_same_architecture_it_is_one_sentence(tmp_path, tiny_sd3_dir):
    path = tiny_models.save_sd3_single_file(tiny_sd3_dir, tmp_path / "sd3.5-tiny.safetensors")
    with pytest.raises(StudioError, match="SD 3.5 diffusers folder") as err:
        Engine("cpu", previews="linear").load(str(path))
    assert "\n" not in str(err.value)
    library, copy = _library(tmp_path, tiny_sd3_dir, "sd3.5-other-size")
    config_file = copy / "transformer" / "config.json"
    config_file.write_text(json.dumps(json.loads(config_file.read_text()) | {"num_layers": 3}))
    with pytest.raises(StudioError, match="SD 3.5 diffusers folder"):
        Engine("cpu", previews="linear", library=library).load(str(path))
