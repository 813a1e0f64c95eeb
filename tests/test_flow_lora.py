"""``<lora:NAME:W>`` on the flow-matching families (Flux, SD 3.5, Chroma): the real engine on tiny models against
diffusers' own ``load_lora_weights`` + ``set_adapters`` on the same model, in diffusers' layout (a peft LoRA on the
transformer) and in the kohya/BFL layout where diffusers' loader converts it (Flux's loader, which Chroma shares)."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline

from studio.core.errors import StudioError
from studio.core.paths import models_dir
from studio.core.request import GenerationRequest
from tests.conftest import _engine
from tests.tiny_networks import kohya_flux_lora, kohya_sd3_lora, transformer_lora

SIZE = 64
PROMPT, NEGATIVE = "a red fox in snow", "blurry"


@dataclass(frozen=True)
class LoraCase:
    fixture: str
    make: object  # (pipe, path) -> path
    negative: bool  # the family has true CFG and a negative prompt (Flux: distilled guidance, none)

    def __str__(self) -> str:
        return f"{self.fixture.removeprefix('tiny_').removesuffix('_dir')}-{self.make.__name__}"


CASES = [
    LoraCase("tiny_flux_dir", transformer_lora, negative=False),
    LoraCase("tiny_flux_dir", kohya_flux_lora, negative=False),
    LoraCase("tiny_sd3_dir", transformer_lora, negative=True),
    LoraCase("tiny_chroma_dir", transformer_lora, negative=True),
    LoraCase("tiny_chroma_dir", kohya_flux_lora, negative=True),
]


def _request(case: LoraCase, prompt: str) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, negative_prompt=NEGATIVE if case.negative else "", seed=42, steps=3,
                             cfg_scale=4.0, width=SIZE, height=SIZE)


def _theirs(case: LoraCase, pipe) -> np.ndarray:
    negative = dict(negative_prompt=NEGATIVE) if case.negative else {}
    image = pipe(prompt=PROMPT, num_inference_steps=3, guidance_scale=4.0, width=SIZE, height=SIZE,
                 generator=[torch.Generator("cpu").manual_seed(42)], **negative).images[0]
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def _ours(engine, case: LoraCase, prompt: str) -> np.ndarray:
    return np.asarray(engine.generate(_request(case, prompt)).images[0].convert("RGB"), dtype=np.int16)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_pixels_equal_diffusers_load_lora_weights_at_two_weights_and_nothing_is_left_over(case, request):
    folder = request.getfixturevalue(case.fixture)
    engine = _engine(folder)
    pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    path = case.make(pipe, models_dir() / "loras" / "ink.safetensors")
    base = _ours(engine, case, PROMPT)
    pipe.load_lora_weights(str(path), adapter_name="ink")
    for weight in (0.6, 1.3):
        ours = _ours(engine, case, f"{PROMPT} <lora:ink:{weight}>")
        pipe.set_adapters(["ink"], [weight])
        assert np.array_equal(ours, _theirs(case, pipe)), weight
        assert np.abs(ours - base).max() > 5  # the LoRA does something
    assert np.array_equal(_ours(engine, case, PROMPT), base)  # no leftover adapter
    assert engine._adapters.loaded == []


def test_an_sd3_lora_in_the_kohya_layout_is_one_sentence_and_the_model_keeps_working(tiny_sd3_dir):
    engine = _engine(tiny_sd3_dir)
    case = CASES[2]
    base = _ours(engine, case, PROMPT)
    kohya_sd3_lora(engine._loaded.pipe, models_dir() / "loras" / "sai.safetensors")
    with pytest.raises(StudioError, match="kohya layout") as err:
        engine.generate(_request(case, f"{PROMPT} <lora:sai:1>"))
    assert "\n" not in str(err.value)
    assert np.array_equal(_ours(engine, case, PROMPT), base)


def test_a_flux_lora_on_an_sd3_model_is_refused_before_the_model_changes(tiny_flux_dir, tiny_sd3_dir):
    engine = _engine(tiny_sd3_dir)
    case = CASES[2]
    base = _ours(engine, case, PROMPT)
    flux = DiffusionPipeline.from_pretrained(tiny_flux_dir, local_files_only=True)
    transformer_lora(flux, models_dir() / "loras" / "fluxstyle.safetensors")
    with pytest.raises(StudioError, match="another kind of model"):
        engine.generate(_request(case, f"{PROMPT} <lora:fluxstyle:1>"))
    assert np.array_equal(_ours(engine, case, PROMPT), base)
