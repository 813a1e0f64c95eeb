"""Qwen-Image beyond the shared flow-family checks (``test_flow_families.py``): recognising its folders, its controls
being the pipeline's own defaults, and Qwen-Image-Edit's instruction edits against diffusers' own pipelines.

The edit model's tests need torchvision (``tiny_models.QWEN_EDIT_NEEDS``): they run in ``make test-upscalers``' environment
and are skipped in ``make test``, where the test below checks the sentence a user without torchvision gets instead.
"""

import importlib.util
import inspect
import json
import shutil

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline, QwenImageEditPipeline, QwenImageEditPlusPipeline, QwenImagePipeline
from PIL import Image

from studio.core.errors import StudioError
from studio.core.model_folders import LibraryFolder, ModelKind
from studio.core.model_info import ModelFamily
from studio.core.model_scan import scan
from studio.core.request import GenerationRequest
from studio.engine import families
from studio.engine.engine import Engine
from tests.conftest import _engine

SIZE = 64
INSTRUCTION, NEGATIVE = "make it night", "blurry"


def _request(**kw) -> GenerationRequest:
    return GenerationRequest(**(dict(prompt=INSTRUCTION, negative_prompt=NEGATIVE, seed=42, steps=4, cfg_scale=4.0,
                                     width=SIZE, height=SIZE) | kw))


def _direct(folder, pipeline_cls, **call):
    pipe = pipeline_cls.from_pretrained(folder, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    call = dict(prompt=INSTRUCTION, negative_prompt=NEGATIVE, true_cfg_scale=4.0, num_inference_steps=4,
                width=SIZE, height=SIZE) | call
    return pipe(generator=[torch.Generator("cpu").manual_seed(42)], **call).images[0]


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def _edit_folder_by_hand(plain, out):
    """An Edit folder made from the plain tiny model's files, without building a processor (which needs
    torchvision): the Edit pipeline in model_index.json, a processor folder of the tokenizer and an image config."""
    shutil.copytree(plain, out)
    shutil.copytree(plain / "tokenizer", out / "processor")
    (out / "processor" / "preprocessor_config.json").write_text(json.dumps(
        {"image_processor_type": "Qwen2VLImageProcessor", "min_pixels": 3136, "max_pixels": 3136}))
    index = json.loads((out / "model_index.json").read_text())
    index |= {"_class_name": "QwenImageEditPipeline", "processor": ["transformers", "Qwen2VLProcessor"]}
    (out / "model_index.json").write_text(json.dumps(index))
    return out


def test_folders_are_recognised_loaded_and_in_the_library(tmp_path, tiny_qwen_image_dir):
    pipe = DiffusionPipeline.from_pretrained(tiny_qwen_image_dir, local_files_only=True)
    plugin, family = families.plugin_for(pipe, tiny_qwen_image_dir.name)
    assert family is ModelFamily.QWEN_IMAGE and not plugin.edits(pipe)
    library = tmp_path / "checkpoints"
    shutil.copytree(tiny_qwen_image_dir, library / "Qwen-Image")
    _edit_folder_by_hand(tiny_qwen_image_dir, library / "Qwen-Image-Edit")
    entries = scan([LibraryFolder(library, ModelKind.CHECKPOINT)])
    assert [(e.name, e.family, e.family_label) for e in entries] == [
        ("Qwen-Image", ModelFamily.QWEN_IMAGE, "Qwen-Image"), ("Qwen-Image-Edit", ModelFamily.QWEN_IMAGE, "Qwen-Image")]


def test_controls_are_the_pipelines_own_defaults(tiny_qwen_image_dir):
    defaults = inspect.signature(QwenImagePipeline.__call__).parameters
    controls = _engine(tiny_qwen_image_dir).info.controls
    assert controls.default_guidance == defaults["true_cfg_scale"].default == 4.0
    assert controls.default_steps == defaults["num_inference_steps"].default == 50
    assert controls.negative_prompt and controls.guidance_used and controls.size_multiple == 16
    assert "true_cfg_scale" in controls.guidance_tip and controls.prompt_note


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is not None, reason="torchvision is installed here")
def test_without_torchvision_an_edit_folder_is_refused_in_one_sentence(tmp_path, tiny_qwen_image_dir):
    folder = _edit_folder_by_hand(tiny_qwen_image_dir, tmp_path / "Qwen-Image-Edit")
    with pytest.raises(StudioError, match="needs a library that is not installed here .*Torchvision") as err:
        Engine("cpu", previews="linear").load(str(folder))
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------------------------------- the edit model
@pytest.fixture(scope="module", params=[QwenImageEditPipeline, QwenImageEditPlusPipeline], ids=lambda c: c.__name__)
def edit_model(request, tmp_path_factory, tiny_qwen_image_edit_dir):
    """An edit folder for each edit pipeline. Qwen-Image-Edit-2509's folder (Edit Plus) has Edit's components, only
    its model_index.json names another pipeline: so the tiny Edit folder with that name stands in for one."""
    cls, folder = request.param, tiny_qwen_image_edit_dir
    if cls is QwenImageEditPlusPipeline:
        folder = tmp_path_factory.mktemp("qwen_image_edit_plus") / "model"
        shutil.copytree(tiny_qwen_image_edit_dir, folder)
        index = folder / "model_index.json"
        index.write_text(json.dumps(json.loads(index.read_text()) | {"_class_name": cls.__name__}))
    return cls, folder, _engine(folder)


def test_edit_model_edits_the_canvas_image_by_instruction_as_diffusers_does(edit_model):
    pipeline_cls, folder, engine = edit_model
    assert engine.info.edits and engine.info.family is ModelFamily.QWEN_IMAGE
    src = Image.fromarray(np.random.default_rng(7).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))
    updates = []
    result = engine.generate(_request(init_image=src, strength=0.6), on_step=updates.append)
    expected = _direct(folder, pipeline_cls, image=src)
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))
    assert [u.step for u in updates] == [1, 2, 3, 4] and updates[0].preview.shape == (SIZE // 8, SIZE // 8, 3)
    recipe = result.recipes[0]
    assert (recipe.mode, recipe.strength, recipe.model_family, recipe.cfg_scale) == ("edit", None, "qwen_image", 4.0)


def test_edit_model_makes_pictures_from_text_with_the_plain_pipeline(tiny_qwen_image_edit_dir):
    result = _engine(tiny_qwen_image_edit_dir).generate(_request(prompt="a red fox in snow"))
    expected = _direct(tiny_qwen_image_edit_dir, QwenImagePipeline, prompt="a red fox in snow")
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))
    assert result.recipes[0].mode == "txt2img"
