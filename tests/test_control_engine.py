"""ControlNet in the real engine on tiny random-weight models: pixels equal diffusers' ControlNet pipelines."""

from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import (
    ControlNetModel,
    ControlNetUnionModel,
    EulerDiscreteScheduler,
    StableDiffusionControlNetImg2ImgPipeline,
    StableDiffusionControlNetInpaintPipeline,
    StableDiffusionControlNetPipeline,
    StableDiffusionXLControlNetPipeline,
    StableDiffusionXLControlNetUnionPipeline,
)
from PIL import Image
from safetensors.torch import save_file

from studio.core import control_store
from studio.core import mask as maskmath
from studio.core.control import ControlInput
from studio.core.cancel import CancelToken
from studio.core.errors import GenerationCancelled, StudioError
from studio.core.metadata import format_parameters
from studio.core.preprocessors import builtin_map, fit
from studio.core.request import GenerationRequest
from tests.tiny_controlnets import build_tiny_controlnet, control_image

SIZE = 64
PROMPT = dict(prompt="a red fox in snow", negative_prompt="blurry", num_inference_steps=4, guidance_scale=6.5)


@pytest.fixture(scope="module")
def sd_controlnet(tmp_path_factory, tiny_sd_dir) -> Path:
    return build_tiny_controlnet(tiny_sd_dir, tmp_path_factory.mktemp("cn") / "tiny-canny")


@pytest.fixture(scope="module")
def sd_controlnet_2(tmp_path_factory, tiny_sd_dir) -> Path:
    return build_tiny_controlnet(tiny_sd_dir, tmp_path_factory.mktemp("cn") / "tiny-depth", seed=2)


@pytest.fixture(scope="module")
def sdxl_controlnet(tmp_path_factory, tiny_sdxl_dir) -> Path:
    return build_tiny_controlnet(tiny_sdxl_dir, tmp_path_factory.mktemp("cn") / "tiny-xl")


def _request(*controls, **kw) -> GenerationRequest:
    base = dict(prompt="a red fox in snow", negative_prompt="blurry", seed=42, steps=4, cfg_scale=6.5,
                width=SIZE, height=SIZE, scheduler="euler", control=controls)
    base.update(kw)
    return GenerationRequest(**base)


def _control(path: Path, **kw) -> ControlInput:
    return ControlInput(model=str(path), image=control_image(), **kw)


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def _direct(cls, folder, controlnet, **call):
    pipe = cls.from_pretrained(folder, controlnet=controlnet, local_files_only=True)
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe(generator=torch.Generator("cpu").manual_seed(42), **PROMPT, **call).images[0]


def _net(path: Path) -> ControlNetModel:
    return ControlNetModel.from_pretrained(path, local_files_only=True)


def test_text_to_image_with_control_matches_diffusers(sd_engine, tiny_sd_dir, sd_controlnet):
    result = sd_engine.generate(_request(_control(sd_controlnet, weight=0.7)))
    expected = _direct(StableDiffusionControlNetPipeline, tiny_sd_dir, _net(sd_controlnet), image=control_image(),
                       controlnet_conditioning_scale=0.7, width=SIZE, height=SIZE)
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))
    plain = sd_engine.generate(_request())
    assert np.abs(_pixels(plain.images[0]).astype(int) - _pixels(expected)).max() > 10  # control matters


def test_weight_zero_is_no_control(sd_engine, sd_controlnet):
    controlled = sd_engine.generate(_request(_control(sd_controlnet, weight=0.0)))
    plain = sd_engine.generate(_request())
    assert np.array_equal(_pixels(controlled.images[0]), _pixels(plain.images[0]))


def test_start_end_range_matches_diffusers_guidance_range(sd_engine, tiny_sd_dir, sd_controlnet):
    result = sd_engine.generate(_request(_control(sd_controlnet, start=0.25, end=0.75)))
    expected = _direct(StableDiffusionControlNetPipeline, tiny_sd_dir, _net(sd_controlnet), image=control_image(),
                       control_guidance_start=0.25, control_guidance_end=0.75, width=SIZE, height=SIZE)
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))
    full = sd_engine.generate(_request(_control(sd_controlnet)))
    assert not np.array_equal(_pixels(full.images[0]), _pixels(expected))


def test_two_controlnets_match_diffusers_multi_controlnet(sd_engine, tiny_sd_dir, sd_controlnet, sd_controlnet_2):
    second = control_image(seed=9).transpose(Image.Transpose.ROTATE_90)
    controls = (_control(sd_controlnet, weight=0.6), ControlInput(str(sd_controlnet_2), image=second, weight=0.9))
    result = sd_engine.generate(_request(*controls))
    expected = _direct(StableDiffusionControlNetPipeline, tiny_sd_dir, [_net(sd_controlnet), _net(sd_controlnet_2)],
                       image=[control_image(), second], controlnet_conditioning_scale=[0.6, 0.9],
                       width=SIZE, height=SIZE)
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))


def test_controlnet_more_important_is_diffusers_guess_mode(sd_engine, tiny_sd_dir, sd_controlnet):
    result = sd_engine.generate(_request(_control(sd_controlnet, control_mode="ControlNet is more important")))
    expected = _direct(StableDiffusionControlNetPipeline, tiny_sd_dir, _net(sd_controlnet), image=control_image(),
                       guess_mode=True, width=SIZE, height=SIZE)
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))


def test_prompt_more_important_softens_control_and_leaves_no_trace(sd_engine, sd_controlnet):
    balanced = _pixels(sd_engine.generate(_request(_control(sd_controlnet))).images[0]).astype(int)
    soft = _pixels(sd_engine.generate(_request(_control(sd_controlnet, control_mode="My prompt is more important")))
                   .images[0]).astype(int)
    plain = _pixels(sd_engine.generate(_request()).images[0]).astype(int)
    assert np.abs(soft - plain).mean() < np.abs(balanced - plain).mean()
    again = _pixels(sd_engine.generate(_request(_control(sd_controlnet))).images[0]).astype(int)
    assert np.array_equal(again, balanced)  # the soft weights applied to that call only


def test_image_to_image_with_control_matches_diffusers(sd_engine, tiny_sd_dir, sd_controlnet):
    source = control_image(seed=5).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    result = sd_engine.generate(_request(_control(sd_controlnet), init_image=source, strength=0.6))
    expected = _direct(StableDiffusionControlNetImg2ImgPipeline, tiny_sd_dir, _net(sd_controlnet), image=source,
                       control_image=control_image(), strength=0.6,
                       controlnet_conditioning_scale=1.0)  # this pipeline's default is 0.8
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))


def test_inpainting_with_control_keeps_unmasked_pixels(sd_engine, tiny_sd_dir, sd_controlnet):
    source = control_image(seed=5).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    mask = Image.new("L", (SIZE, SIZE), 0)
    mask.paste(255, (21, 19, 45, 43))
    result = sd_engine.generate(_request(_control(sd_controlnet), init_image=source, mask=mask, strength=1.0,
                                         mask_feather=3))
    out = _pixels(result.images[0])
    paste = np.asarray(maskmath.composite_mask(mask, 3))
    assert np.array_equal(out[paste == 0], _pixels(source)[paste == 0])
    expected = _direct(StableDiffusionControlNetInpaintPipeline, tiny_sd_dir, _net(sd_controlnet), image=source,
                       mask_image=maskmath.dilate_to_grid(mask), control_image=control_image(), strength=1.0,
                       controlnet_conditioning_scale=1.0, width=SIZE, height=SIZE)
    assert np.array_equal(out[paste == 255], _pixels(expected)[paste == 255])


def test_previews_and_cancel_work_with_control(sd_engine, sd_controlnet):
    steps = []
    sd_engine.generate(_request(_control(sd_controlnet)), on_step=steps.append)
    assert [s.step for s in steps] == [1, 2, 3, 4] and all(s.preview is not None for s in steps)
    cancel = CancelToken()

    def stop(update):
        cancel.cancel()

    with pytest.raises(GenerationCancelled):
        sd_engine.generate(_request(_control(sd_controlnet)), on_step=stop, cancel=cancel)
    assert sd_engine.generate(_request(_control(sd_controlnet))).images  # the next run works


def test_sdxl_controlnet_matches_diffusers(sdxl_engine, tiny_sdxl_dir, sdxl_controlnet):
    result = sdxl_engine.generate(_request(_control(sdxl_controlnet, weight=0.8)))
    expected = _direct(StableDiffusionXLControlNetPipeline, tiny_sdxl_dir, _net(sdxl_controlnet),
                       image=control_image(), controlnet_conditioning_scale=0.8, width=SIZE, height=SIZE)
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))


def test_sdxl_union_controlnet_matches_diffusers(sdxl_engine, tiny_sdxl_dir, tmp_path):
    folder = build_tiny_controlnet(tiny_sdxl_dir, tmp_path / "union", union=True)
    controls = (_control(folder, preprocessor="canny", processor_res=64, weight=0.8),
                _control(folder, preprocessor="scribble", processor_res=64, end=0.5))
    result = sdxl_engine.generate(_request(*controls))
    maps = [fit(builtin_map(c.image, c), (SIZE, SIZE), c.resize_mode) for c in controls]
    pipe = StableDiffusionXLControlNetUnionPipeline.from_pretrained(
        tiny_sdxl_dir, controlnet=ControlNetUnionModel.from_pretrained(folder), local_files_only=True)
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    expected = pipe(generator=torch.Generator("cpu").manual_seed(42), **PROMPT, control_image=maps,
                    control_mode=[3, 2], controlnet_conditioning_scale=[0.8, 1.0], control_guidance_start=[0.0, 0.0],
                    control_guidance_end=[1.0, 0.5], width=SIZE, height=SIZE).images[0]
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))
    with pytest.raises(StudioError, match="reads the control type from the preprocessor, and 'none' names none"):
        sdxl_engine.generate(_request(_control(folder)))


def test_controlnet_of_another_family_is_one_sentence(sdxl_engine, sd_controlnet):
    with pytest.raises(StudioError, match="is for models with 32-wide text embeddings, but the loaded model is SDXL"):
        sdxl_engine.generate(_request(_control(sd_controlnet)))
    assert sdxl_engine.generate(_request()).images  # the engine keeps working


def test_single_file_controlnet_gives_the_folders_pixels(sd_engine, sd_controlnet, tmp_path):
    single = tmp_path / "tiny-canny.safetensors"
    save_file(_net(sd_controlnet).state_dict(), single)
    from_folder = sd_engine.generate(_request(_control(sd_controlnet)))
    from_file = sd_engine.generate(_request(_control(single)))
    assert np.array_equal(_pixels(from_file.images[0]), _pixels(from_folder.images[0]))


def test_controlnet_by_name_from_the_controlnet_folder(sd_engine, sd_controlnet):
    from studio.core.model_folders import own_folders

    folder = next(f.path for f in own_folders() if f.kind.value == "controlnet")
    (folder / "mine").symlink_to(sd_controlnet, target_is_directory=True)
    by_name = sd_engine.generate(_request(ControlInput("mine", image=control_image())))
    by_path = sd_engine.generate(_request(_control(sd_controlnet)))
    assert np.array_equal(_pixels(by_name.images[0]), _pixels(by_path.images[0]))
    with pytest.raises(StudioError, match="There is no ControlNet called 'nothing'"):
        sd_engine.generate(_request(ControlInput("nothing", image=control_image())))


def test_recipe_records_the_control_layer_and_keeps_its_image(sd_engine, sd_controlnet):
    control = _control(sd_controlnet, preprocessor="canny", weight=0.5, start=0.1, end=0.9)
    recipe = sd_engine.generate(_request(control)).recipes[0]
    (unit,) = recipe.control
    assert (unit.preprocessor, unit.weight, unit.start, unit.end, unit.image) == ("canny", 0.5, 0.1, 0.9, None)
    assert np.array_equal(np.asarray(control_store.load(unit.image_key)), np.asarray(control_image()))
    assert f'ControlNet 0: "Module: canny, Model: {sd_controlnet}, Weight: 0.5,' in format_parameters(recipe)


def test_missing_preprocessor_weights_is_one_sentence(sd_engine, sd_controlnet):
    with pytest.raises(StudioError, match=r"needs dpt_hybrid-midas-501f0c75.pt from huggingface.co/lllyasviel/Annotators; download it into"):
        sd_engine.generate(_request(_control(sd_controlnet, preprocessor="depth_midas")))
