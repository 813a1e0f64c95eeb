"""The flow-matching families on the family plug-in, one parametrised set of checks for each: the real engine on a
tiny random pipeline against diffusers' own pipeline of that mode, previews every step, cancel inside a step.

A new family adds a :class:`FamilyCase` to ``CASES`` (its fixture, family, pipelines and the call arguments its
pipelines need beyond the common ones). Flux has its own module (``test_flux.py``) for its many variants; what
only one family does is checked in its own small module (``test_flux2.py``).
"""

from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from diffusers import (
    ChromaImg2ImgPipeline,
    ChromaInpaintPipeline,
    DiffusionPipeline,
    Flux2KleinInpaintPipeline,
    QwenImageImg2ImgPipeline,
    QwenImageInpaintPipeline,
    StableDiffusion3Img2ImgPipeline,
    StableDiffusion3InpaintPipeline,
    ZImageImg2ImgPipeline,
    ZImageInpaintPipeline,
)
from PIL import Image

from studio.core import mask as maskmath
from studio.core.cancel import CancelToken
from studio.core.errors import GenerationCancelled
from studio.core.model_folders import LibraryFolder, ModelKind
from studio.core.model_info import ModelFamily
from studio.core.model_scan import read_entry
from studio.core.request import GenerationRequest, Mode
from studio.engine import families
from tests.conftest import _engine

SIZE = 64
PROMPT, NEGATIVE = "a red fox in snow", "blurry"


@dataclass(frozen=True)
class FamilyCase:
    fixture: str  # the conftest fixture giving the tiny model's folder
    family: ModelFamily
    img2img: type | None  # diffusers' pipeline for the mode, None when the family has none
    inpaint: type | None
    sized_img2img: bool = False  # its img2img pipeline needs width/height passed
    masked_img2img: bool = False  # image-to-image is its inpainting pipeline with everything masked
    prepare: object = None  # adjusts diffusers' reference pipeline as the plug-in does (what 0.42 expects)
    blocks: str = "transformer_blocks"  # the transformer's block list (cancel hooks its first block)
    call: dict = field(default_factory=dict)  # extra arguments for every reference call
    prompts: object = None  # the reference call's prompt arguments from its pipeline; None: both texts as they are

    def __str__(self) -> str:
        return self.family.value


def _chroma_reference(pipe) -> None:
    pipe.transformer.register_to_config(guidance_embeds=False)  # what the inpainting pipeline reads (diffusers 0.42)


def _klein_prompts(pipe) -> dict:
    # The Klein pipelines take the negative prompt only as embeddings, made by their own encoder.
    return dict(prompt=PROMPT, negative_prompt_embeds=pipe.encode_prompt(NEGATIVE)[0])


CASES = [
    FamilyCase("tiny_sd3_dir", ModelFamily.SD3, StableDiffusion3Img2ImgPipeline, StableDiffusion3InpaintPipeline),
    FamilyCase("tiny_chroma_dir", ModelFamily.CHROMA, ChromaImg2ImgPipeline, ChromaInpaintPipeline,
               sized_img2img=True, prepare=_chroma_reference),
    FamilyCase("tiny_flux2_klein_dir", ModelFamily.FLUX2, Flux2KleinInpaintPipeline, Flux2KleinInpaintPipeline,
               sized_img2img=True, masked_img2img=True, prompts=_klein_prompts),
    # Qwen-Image's CFG is true CFG, diffusers' true_cfg_scale (its guidance_scale is for guidance-distilled models)
    FamilyCase("tiny_qwen_image_dir", ModelFamily.QWEN_IMAGE, QwenImageImg2ImgPipeline, QwenImageInpaintPipeline,
               sized_img2img=True, call=dict(true_cfg_scale=5.0, guidance_scale=None)),
    FamilyCase("tiny_z_image_dir", ModelFamily.Z_IMAGE, ZImageImg2ImgPipeline, ZImageInpaintPipeline, blocks="layers"),
]


@pytest.fixture(scope="module", params=CASES, ids=str)
def case(request):
    folder = request.getfixturevalue(request.param.fixture)
    return request.param, folder, _engine(folder)


def _request(**kw) -> GenerationRequest:
    return GenerationRequest(**(dict(prompt=PROMPT, negative_prompt=NEGATIVE, seed=42, steps=4, cfg_scale=5.0,
                                     width=SIZE, height=SIZE) | kw))


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def _direct(family_case: FamilyCase, folder, pipeline_cls=DiffusionPipeline, **call):
    pipe = pipeline_cls.from_pretrained(folder, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    if family_case.prepare is not None:
        family_case.prepare(pipe)
    prompts = family_case.prompts(pipe) if family_case.prompts else dict(prompt=PROMPT, negative_prompt=NEGATIVE)
    call = prompts | dict(num_inference_steps=4, guidance_scale=5.0) | family_case.call | call
    return pipe(generator=[torch.Generator("cpu").manual_seed(42)], **call).images[0]


def _source() -> Image.Image:
    return Image.fromarray(np.random.default_rng(7).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))


def test_text_to_image_matches_diffusers_with_true_cfg_and_a_negative_prompt(case):
    family_case, folder, engine = case
    result = engine.generate(_request())
    expected = _direct(family_case, folder, width=SIZE, height=SIZE)
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))
    assert result.recipes[0].model_family == family_case.family.value
    info = engine.info
    assert info.family is family_case.family and info.controls.negative_prompt and info.controls.own_sampler


def test_image_to_image_matches_diffusers(case):
    family_case, folder, engine = case
    if family_case.img2img is None:
        pytest.skip(f"{family_case.family.label} has no image-to-image pipeline")
    src = _source()
    result = engine.generate(_request(init_image=src, strength=0.6))
    extra = dict(width=SIZE, height=SIZE) if family_case.sized_img2img else {}
    if family_case.masked_img2img:
        extra["mask_image"] = Image.new("L", (SIZE, SIZE), 255)
    expected = _direct(family_case, folder, family_case.img2img, image=src, strength=0.6, **extra)
    assert np.array_equal(_pixels(result.images[0]), _pixels(expected))
    assert (result.recipes[0].mode, result.recipes[0].strength) == ("img2img", 0.6)


def test_inpainting_keeps_unmasked_pixels_and_matches_diffusers_inside(case):
    family_case, folder, engine = case
    if family_case.inpaint is None:
        pytest.skip(f"{family_case.family.label} has no inpainting pipeline")
    src, mask = _source(), Image.new("L", (SIZE, SIZE), 0)
    mask.paste(255, (21, 19, 37, 35))
    result = engine.generate(_request(init_image=src, mask=mask, strength=1.0, mask_feather=3))
    out = _pixels(result.images[0])
    paste = np.asarray(maskmath.composite_mask(mask, 3))
    assert np.array_equal(out[paste == 0], _pixels(src)[paste == 0])
    expected = _direct(family_case, folder, family_case.inpaint, image=src,
                       mask_image=maskmath.dilate_to_grid(mask), strength=1.0, width=SIZE, height=SIZE)
    assert np.array_equal(out[paste == 255], _pixels(expected)[paste == 255])


def test_previews_every_step_and_cancel_inside_a_step(case):
    family_case, _folder, engine = case
    updates = []
    engine.generate(_request(), on_step=updates.append)
    assert [u.step for u in updates] == [1, 2, 3, 4] and updates[0].preview.shape == (SIZE // 8, SIZE // 8, 3)
    token = CancelToken()
    block = getattr(engine._loaded.pipe.transformer, family_case.blocks)[0]
    handle = block.register_forward_pre_hook(lambda *a: token.cancel())
    try:
        with pytest.raises(GenerationCancelled):
            engine.generate(_request(steps=20), cancel=token)
    finally:
        handle.remove()
    assert engine.generate(_request()).images


def test_detected_from_its_folder_loaded_and_in_the_library(case):
    family_case, folder, _ = case
    pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True)
    assert families.plugin_for(pipe, folder.name)[1] is family_case.family
    assert read_entry(folder, LibraryFolder(folder.parent, ModelKind.CHECKPOINT)).family is family_case.family


def test_mode_pipelines_share_the_loaded_modules_in_their_dtype(case):
    # A GPU run loads in half precision: a mode pipeline must not cast the shared modules (DiffusionPipeline.from_pipe
    # casts them all to float32 unless told otherwise, doubling their memory).
    _family_case, folder, engine = case
    pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True, dtype=torch.bfloat16)
    plugin = engine._loaded.plugin
    for mode in (Mode.IMAGE_TO_IMAGE, Mode.INPAINT):
        made = plugin.make_pipeline(mode, pipe)
        assert made.transformer is pipe.transformer and made.vae is pipe.vae
        modules = [m for m in pipe.components.values() if isinstance(m, torch.nn.Module)]
        assert {p.dtype for m in modules for p in m.parameters()} == {torch.bfloat16}
