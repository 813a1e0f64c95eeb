"""The engine with few-step settings on the tiny model: LCM and the trailing-timestep samplers give diffusers' own
pixels; a loaded model says what it is; LoRA, embedding and VAE folders are not re-read while nothing changes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from diffusers import (
    DDIMScheduler,
    DiffusionPipeline,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    LCMScheduler,
)

from studio.core import model_scan
from studio.core.paths import models_dir
from studio.core.request import GenerationRequest
from studio.engine import adapters
from studio.engine.engine import Engine
from tests.tiny_networks import kohya_lora, sd_embedding

SIZE = 64
PROMPT, NEGATIVE = "a red fox in snow", "blurry"


def _request(**kw) -> GenerationRequest:
    base = dict(prompt=PROMPT, negative_prompt=NEGATIVE, seed=42, steps=4, cfg_scale=1.5, width=SIZE, height=SIZE)
    return GenerationRequest(**{**base, **kw})


def _pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def _diffusers(folder, scheduler_cls, overrides: dict, steps: int, cfg: float) -> np.ndarray:
    pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True)
    pipe.scheduler = scheduler_cls.from_config(pipe.scheduler.config, **overrides)
    pipe.set_progress_bar_config(disable=True)
    image = pipe(prompt=PROMPT, negative_prompt=NEGATIVE, num_inference_steps=steps, guidance_scale=cfg,
                 width=SIZE, height=SIZE, generator=torch.Generator("cpu").manual_seed(42)).images[0]
    return _pixels(image)


@pytest.mark.parametrize("scheduler, cls, overrides, steps, cfg", [
    ("lcm", LCMScheduler, {}, 4, 1.5),
    ("lcm", LCMScheduler, {}, 6, 1.0),
    ("euler_trailing", EulerDiscreteScheduler, {"timestep_spacing": "trailing"}, 4, 1.0),
    ("euler_a_trailing", EulerAncestralDiscreteScheduler, {"timestep_spacing": "trailing"}, 1, 0.0),
    ("ddim_trailing", DDIMScheduler, {"timestep_spacing": "trailing", "set_alpha_to_one": False, "clip_sample": False},
     2, 1.0),
])
def test_few_step_samplers_give_diffusers_pixels(sd_engine, tiny_sd_dir, scheduler, cls, overrides, steps, cfg):
    result = sd_engine.generate(_request(scheduler=scheduler, steps=steps, cfg_scale=cfg))
    assert np.array_equal(_pixels(result.images[0]), _diffusers(tiny_sd_dir, cls, overrides, steps, cfg))
    recipe = result.recipes[0]
    assert (recipe.steps, recipe.cfg_scale, recipe.scheduler) == (steps, cfg, scheduler)


def test_ancestral_and_lcm_noise_follows_the_seed(sd_engine):
    for scheduler in ("euler_a", "lcm"):
        a, b = (sd_engine.generate(_request(scheduler=scheduler, steps=3)) for _ in range(2))
        assert np.array_equal(_pixels(a.images[0]), _pixels(b.images[0])), scheduler


def test_trailing_timesteps_are_not_the_plain_ones(sd_engine):
    trailing = sd_engine.generate(_request(scheduler="euler_trailing", steps=2))
    plain = sd_engine.generate(_request(scheduler="euler", steps=2))
    assert not np.array_equal(_pixels(trailing.images[0]), _pixels(plain.images[0]))
    assert trailing.recipes[0].sampler == "Euler Trailing"


def test_a_loaded_model_says_it_is_a_few_step_model(tiny_sd_dir, tmp_path):
    folder = tmp_path / "tiny-turbo"
    shutil.copytree(tiny_sd_dir, folder)
    config = folder / "scheduler" / "scheduler_config.json"
    data = json.loads(config.read_text())
    config.write_text(json.dumps({**data, "_class_name": "EulerAncestralDiscreteScheduler",
                                  "timestep_spacing": "trailing"}))
    index = folder / "model_index.json"  # what diffusers loads the scheduler class from
    index.write_text(json.dumps({**json.loads(index.read_text()),
                                 "scheduler": ["diffusers", "EulerAncestralDiscreteScheduler"]}))
    engine = Engine("cpu", previews="off")
    info = engine.load(str(folder))
    assert info.fewstep.preset.key == "turbo" and info.fewstep.source == "scheduler config"
    assert info.default_sampler == "Euler a Trailing"
    assert Engine("cpu", previews="off").load(str(tiny_sd_dir)).fewstep is None


def test_a_generation_with_nothing_changed_reads_no_header(sd_engine, tiny_sd_dir, monkeypatch):
    pipe = DiffusionPipeline.from_pretrained(tiny_sd_dir, local_files_only=True)
    loras, embeddings = models_dir() / "loras", models_dir() / "embeddings"
    ink = kohya_lora(pipe, loras / "ink.safetensors")
    kohya_lora(pipe, loras / "unused.safetensors", seed=5)
    sd_embedding(pipe, embeddings / "charcoal.safetensors")
    reads: list[str] = []
    for module in (model_scan, adapters):
        real = module.read_header
        monkeypatch.setattr(module, "read_header", lambda path, real=real: reads.append(path.name) or real(path))
    request = _request(prompt="a fox, charcoal <lora:ink:0.8>", scheduler="euler")

    first = sd_engine.generate(request)
    assert "ink.safetensors" in reads and "charcoal.safetensors" in reads
    reads.clear()
    second = sd_engine.generate(request)
    assert reads == []
    assert np.array_equal(_pixels(first.images[0]), _pixels(second.images[0]))

    kohya_lora(pipe, ink, seed=2)  # the same name, other weights: read again, used, recorded
    changed = sd_engine.generate(request)
    assert set(reads) == {"ink.safetensors"}
    assert changed.recipes[0].lora_hashes != first.recipes[0].lora_hashes
    assert not np.array_equal(_pixels(changed.images[0]), _pixels(first.images[0]))

    reads.clear()
    sd_embedding(pipe, embeddings / "pencil.safetensors", seed=7)  # a file added since: found
    added = sd_engine.generate(_request(prompt="a fox, pencil <lora:ink:0.8>", scheduler="euler"))
    assert reads == ["pencil.safetensors"]
    assert added.recipes[0].ti_hashes.startswith("pencil: ")
