"""LoRA through the real engine on tiny models: diffusers' own pixels, weights, no leftovers, refusals, recipes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline

from studio.core.errors import StudioError
from studio.core.hashing import addnet_hash
from studio.core.metadata import format_parameters, recipe_from_parameters
from studio.core.paths import models_dir
from studio.core.prompt_syntax import extract_extra_networks
from studio.core.request import GenerationRequest
from tests.tiny_networks import kohya_lora, loha_lora

PROMPT = "a red fox in snow"


def _request(prompt: str, **kw) -> GenerationRequest:
    base = dict(prompt=prompt, negative_prompt="blurry", seed=42, steps=3, cfg_scale=6.5, width=64, height=64,
                scheduler="euler")
    return GenerationRequest(**(base | kw))


def _pixels(image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def _ours(engine, prompt: str, **kw) -> np.ndarray:
    return _pixels(engine.generate(_request(prompt, **kw)).images[0])


def _theirs(pipe, prompt: str, negative: str = "blurry") -> np.ndarray:
    """diffusers on its own, as the engine calls it (same scheduler, seed, size), with the tags taken out."""
    from diffusers import EulerDiscreteScheduler

    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    req = _request(prompt)
    text = extract_extra_networks(req.prompt)[0]
    image = pipe(prompt=text, negative_prompt=negative, num_inference_steps=req.steps,
                 guidance_scale=req.cfg_scale, width=req.width, height=req.height,
                 generator=[torch.Generator("cpu").manual_seed(req.seed)]).images[0]
    return _pixels(image)


def _pipe(folder):
    pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture
def sd_pipe(tiny_sd_dir):
    return _pipe(tiny_sd_dir)


def _lora(pipe, name: str, **kw):
    return kohya_lora(pipe, models_dir() / "loras" / f"{name}.safetensors", **kw)


def test_pixels_equal_diffusers_load_lora_weights_at_two_weights(sd_engine, sd_pipe):
    path = _lora(sd_pipe, "ink")
    base = _ours(sd_engine, PROMPT)
    sd_pipe.load_lora_weights(str(path), adapter_name="ink")
    for weight in (0.6, 1.3):
        ours = _ours(sd_engine, f"{PROMPT} <lora:ink:{weight}>")
        sd_pipe.set_adapters(["ink"], [weight])
        assert np.array_equal(ours, _theirs(sd_pipe, f"{PROMPT} <lora:ink:{weight}>")), weight
        assert np.abs(ours - base).max() > 5  # the LoRA does something
    assert np.array_equal(_ours(sd_engine, f"{PROMPT} <lora:ink:0>"), base)  # weight 0 is the base model
    assert np.array_equal(_ours(sd_engine, PROMPT), base)  # no leftover adapter
    assert sd_engine._adapters.loaded == []


def test_switching_loras_never_reloads_the_base_model_and_two_at_once_match_diffusers(sd_engine, sd_pipe):
    ink, film = _lora(sd_pipe, "ink", seed=1), kohya_lora(sd_pipe, models_dir() / "loras" / "styles" / "film.safetensors", seed=2)
    pipe_before, unet_before = sd_engine._loaded.pipe, sd_engine._loaded.pipe.unet
    base = _ours(sd_engine, PROMPT)
    both = _ours(sd_engine, f"{PROMPT} <lora:ink:0.7> <lora:styles/film:0.4>")
    only_film = _ours(sd_engine, f"{PROMPT} <lora:film:0.4>")  # by stem alone as well
    assert sd_engine._loaded.pipe is pipe_before and sd_engine._loaded.pipe.unet is unet_before
    sd_pipe.load_lora_weights(str(ink), adapter_name="ink")
    sd_pipe.load_lora_weights(str(film), adapter_name="film")
    sd_pipe.set_adapters(["ink", "film"], [0.7, 0.4])
    assert np.array_equal(both, _theirs(sd_pipe, PROMPT))
    sd_pipe.set_adapters(["film"], [0.4])
    assert np.array_equal(only_film, _theirs(sd_pipe, PROMPT))
    assert not np.array_equal(both, only_film)
    assert np.array_equal(_ours(sd_engine, PROMPT), base)


def test_separate_text_encoder_and_unet_weights_match_diffusers_per_component_weights(sd_engine, sd_pipe):
    path = _lora(sd_pipe, "ink")
    ours = _ours(sd_engine, f"{PROMPT} <lora:ink:0.3:1.2>")
    named = _ours(sd_engine, f"{PROMPT} <lora:ink:unet=1.2:te=0.3>")
    sd_pipe.load_lora_weights(str(path), adapter_name="ink")
    sd_pipe.set_adapters(["ink"], [{"unet": 1.2, "text_encoder": 0.3}])
    assert np.array_equal(ours, _theirs(sd_pipe, PROMPT))
    assert np.array_equal(named, ours)


def test_sdxl_lora_with_both_text_encoders_matches_diffusers(sdxl_engine, tiny_sdxl_dir):
    pipe = _pipe(tiny_sdxl_dir)
    path = _lora(pipe, "xl")
    keys = __import__("safetensors").safe_open(str(path), "pt").keys()
    assert any(k.startswith("lora_te1_") for k in keys) and any(k.startswith("lora_te2_") for k in keys)
    base = _ours(sdxl_engine, PROMPT)
    ours = _ours(sdxl_engine, f"{PROMPT} <lora:xl:0.8>")
    pipe.load_lora_weights(str(path), adapter_name="xl")
    pipe.set_adapters(["xl"], [0.8])
    assert np.array_equal(ours, _theirs(pipe, PROMPT))
    assert np.abs(ours - base).max() > 5
    assert np.array_equal(_ours(sdxl_engine, PROMPT), base)


def test_the_recipe_keeps_the_tags_and_records_a1111s_lora_hashes(sd_engine, sd_pipe):
    path = _lora(sd_pipe, "ink")
    prompt = f"{PROMPT}, <lora:ink:0.8>"
    recipe = sd_engine.generate(_request(prompt)).recipes[0]
    assert recipe.prompt == prompt
    assert recipe.lora_hashes == f"ink: {addnet_hash(path)[:12]}"
    text = format_parameters(recipe)
    assert f'Lora hashes: "ink: {addnet_hash(path)[:12]}"' in text
    assert recipe_from_parameters(text).lora_hashes == recipe.lora_hashes
    assert sd_engine.generate(_request(PROMPT)).recipes[0].lora_hashes == ""


def test_a_lora_for_another_model_is_refused_by_its_shapes_and_nothing_changes(sdxl_engine, sd_pipe):
    _lora(sd_pipe, "sd1only")  # made for the SD 1.x pipeline; the SDXL one has other modules and widths
    base = _ours(sdxl_engine, PROMPT)
    with pytest.raises(StudioError) as err:
        sdxl_engine.generate(_request(f"{PROMPT} <lora:sd1only>"))
    message = str(err.value)
    assert "'sd1only.safetensors' was made for another kind of model" in message and message.count(". ") == 0
    assert sdxl_engine._adapters.loaded == []
    assert np.array_equal(_ours(sdxl_engine, PROMPT), base)


def test_unknown_names_lycoris_files_damaged_files_and_bad_weights_are_one_sentence(sd_engine, sd_pipe):
    loha_lora(models_dir() / "loras" / "hada.safetensors")
    (models_dir() / "loras" / "broken.safetensors").write_bytes(b"\x04\x00\x00\x00\x00\x00\x00\x00{}")
    cases = {
        "<lora:nowhere:1>": "there is no such file in the LoRA folders",
        "<lora:hada>": "'hada.safetensors' is a LyCORIS LoHa/LoKr file",
        "<lora:broken>": "'broken.safetensors' is not a valid .safetensors file",
        "<lora:ink:strong>": "The weight 'strong' in <lora:ink:strong> is not a number.",
        "<hypernet:x:1>": "only <lora:...> extra-network tags are supported",
    }
    for tag, expected in cases.items():
        with pytest.raises(StudioError) as err:
            sd_engine.generate(_request(f"{PROMPT} {tag}"))
        assert expected in str(err.value), tag
    assert sd_engine._adapters.loaded == []


def test_a_unet_only_lora_takes_its_unet_weight_and_ignores_the_text_encoder_one(sd_engine, sd_pipe):
    path = _lora(sd_pipe, "unetonly", text_encoders=False)
    ours = _ours(sd_engine, f"{PROMPT} <lora:unetonly:0.2:0.9>")
    sd_pipe.load_lora_weights(str(path), adapter_name="unetonly")
    sd_pipe.set_adapters(["unetonly"], [0.9])
    assert np.array_equal(ours, _theirs(sd_pipe, PROMPT))


def test_a_lora_in_diffusers_layout_gives_the_same_pixels_as_its_kohya_original(sd_engine, sd_pipe):
    from diffusers import StableDiffusionPipeline
    from peft.utils import get_peft_model_state_dict

    kohya = _lora(sd_pipe, "ink")  # alpha = rank: scale 1, so the diffusers file needs no alphas
    sd_pipe.load_lora_weights(str(kohya), adapter_name="ink")
    StableDiffusionPipeline.save_lora_weights(
        models_dir() / "loras", weight_name="ink_diffusers.safetensors",
        unet_lora_layers=get_peft_model_state_dict(sd_pipe.unet, adapter_name="ink"),
        text_encoder_lora_layers=get_peft_model_state_dict(sd_pipe.text_encoder, adapter_name="ink"))
    keys = list(__import__("safetensors").safe_open(str(models_dir() / "loras" / "ink_diffusers.safetensors"), "pt").keys())
    assert keys and all(k.startswith(("unet.", "text_encoder.")) and (".lora_A." in k or ".lora_B." in k)
                        for k in keys)
    original = _ours(sd_engine, f"{PROMPT} <lora:ink:0.8>")
    assert np.array_equal(_ours(sd_engine, f"{PROMPT} <lora:ink_diffusers:0.8>"), original)
