"""The offline test harness itself: tiny pipelines load and generate, single-file checkpoints round-trip."""

import json

import pytest
import torch
from PIL import Image

PIPELINE_CLASSES = {
    "tiny_sd_dir": "StableDiffusionPipeline",
    "tiny_sd_inpaint_dir": "StableDiffusionInpaintPipeline",
    "tiny_sd2_dir": "StableDiffusionPipeline",
    "tiny_sdxl_dir": "StableDiffusionXLPipeline",
}


def _generate(pipe, inpaint=False, seed=1):
    kwargs = {}
    if inpaint:
        kwargs = dict(image=Image.new("RGB", (64, 64), (200, 30, 30)), mask_image=Image.new("L", (64, 64), 255))
    out = pipe(
        "a photo of a cat",
        negative_prompt="blurry",
        num_inference_steps=4,
        height=64,
        width=64,
        generator=torch.Generator().manual_seed(seed),
        output_type="np",
        **kwargs,
    )
    return out.images


@pytest.mark.parametrize("fixture", list(PIPELINE_CLASSES))
def test_tiny_pipeline_loads_offline_and_generates(fixture, request):
    from diffusers import DiffusionPipeline

    folder = request.getfixturevalue(fixture)
    assert json.loads((folder / "model_index.json").read_text())["_class_name"] == PIPELINE_CLASSES[fixture]
    pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True)
    assert type(pipe).__name__ == PIPELINE_CLASSES[fixture]
    assert pipe.vae_scale_factor == 8
    images = _generate(pipe, inpaint="inpaint" in fixture)
    assert images.shape == (1, 64, 64, 3)
    assert (images == _generate(pipe, inpaint="inpaint" in fixture)).all()


def test_tiny_configs_look_like_the_real_families(tiny_sd_dir, tiny_sd2_dir, tiny_sdxl_dir, tiny_sd_inpaint_dir):
    def cfg(folder, part, name="config.json"):
        return json.loads((folder / part / name).read_text())

    assert cfg(tiny_sd_dir, "scheduler", "scheduler_config.json")["_class_name"] == "PNDMScheduler"
    assert cfg(tiny_sd2_dir, "scheduler", "scheduler_config.json")["prediction_type"] == "v_prediction"
    assert cfg(tiny_sd2_dir, "unet")["use_linear_projection"] is True
    assert cfg(tiny_sdxl_dir, "scheduler", "scheduler_config.json")["_class_name"] == "EulerDiscreteScheduler"
    assert cfg(tiny_sdxl_dir, "unet")["addition_embed_type"] == "text_time"
    assert cfg(tiny_sd_inpaint_dir, "unet")["in_channels"] == 9
    for folder in (tiny_sd_dir, tiny_sd2_dir, tiny_sdxl_dir):
        sched = cfg(folder, "scheduler", "scheduler_config.json")
        assert (sched["beta_schedule"], sched["beta_start"], sched["beta_end"]) == ("scaled_linear", 0.00085, 0.012)


def test_studio_home_is_isolated(tmp_path_factory):
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert "studio_home" in os.environ["STUDIO_HOME"]


SINGLE_FILE_CASES = [
    ("tiny_sd_dir", "tiny_sd_checkpoint", "StableDiffusionPipeline"),
    ("tiny_sd_inpaint_dir", "tiny_sd_inpaint_checkpoint", "StableDiffusionInpaintPipeline"),
    ("tiny_sd2_dir", "tiny_sd2_checkpoint", "StableDiffusionPipeline"),
    ("tiny_sdxl_dir", "tiny_sdxl_checkpoint", "StableDiffusionXLPipeline"),
]

EXPECTED_PREFIXES = {
    "tiny_sd_checkpoint": {"model.diffusion_model.", "first_stage_model.", "cond_stage_model.transformer."},
    "tiny_sd_inpaint_checkpoint": {"model.diffusion_model.", "first_stage_model.", "cond_stage_model.transformer."},
    "tiny_sd2_checkpoint": {"model.diffusion_model.", "first_stage_model.", "cond_stage_model.model."},
    "tiny_sdxl_checkpoint": {
        "model.diffusion_model.",
        "first_stage_model.",
        "conditioner.embedders.0.transformer.",
        "conditioner.embedders.1.model.",
    },
}


@pytest.mark.parametrize("folder_fixture, ckpt_fixture, cls_name", SINGLE_FILE_CASES)
def test_single_file_round_trip_is_bit_identical(folder_fixture, ckpt_fixture, cls_name, request):
    import diffusers
    from safetensors import safe_open

    folder = request.getfixturevalue(folder_fixture)
    ckpt = request.getfixturevalue(ckpt_fixture)
    assert ckpt.suffix == ".safetensors"
    with safe_open(str(ckpt), framework="pt") as f:
        keys = list(f.keys())
    prefixes = EXPECTED_PREFIXES[ckpt_fixture]
    assert all(any(k.startswith(p) for p in prefixes) for k in keys)
    assert all(any(k.startswith(p) for k in keys) for p in prefixes)

    cls = getattr(diffusers, cls_name)
    reference = cls.from_pretrained(folder, local_files_only=True)
    loaded = cls.from_single_file(str(ckpt), config=str(folder), local_files_only=True)
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        if getattr(reference, name, None) is None:
            continue
        want, got = getattr(reference, name).state_dict(), getattr(loaded, name).state_dict()
        assert want.keys() == got.keys(), name
        assert all(torch.equal(want[k], got[k]) for k in want), name
    assert loaded.scheduler.config == reference.scheduler.config
    inpaint = "inpaint" in folder_fixture
    assert (_generate(reference, inpaint) == _generate(loaded, inpaint)).all()
