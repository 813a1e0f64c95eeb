"""Few-step models: presets, detection from real safetensors headers, diffusers folders and names; the library's
entries carry it."""

from __future__ import annotations

import json
import shutil

import pytest

from studio.core.fewstep import PRESETS, detect, detect_source, detect_text, matching_preset
from studio.core.model_folders import LibraryFolder, ModelKind
from studio.core.model_scan import scan
from studio.core.samplers import SCHEDULER_NAMES
from tests.model_files import kohya_lora_shapes, write_safetensors


def test_presets_are_the_published_settings():
    settings = {key: (p.scheduler, p.steps, p.cfg_scale) for key, p in PRESETS.items()}
    assert settings == {
        "lcm": ("lcm", 4, 1.0),
        "turbo": ("euler_a_trailing", 1, 0.0),
        "lightning": ("euler_trailing", 4, 1.0),
        "hyper": ("ddim_trailing", 4, 1.0),
    }
    assert all(p.scheduler in SCHEDULER_NAMES for p in PRESETS.values())
    assert PRESETS["turbo"].settings_text() == "Euler a Trailing, 1 step, CFG 0 (no CFG)"


@pytest.mark.parametrize("name, key, steps, cfg", [
    ("sdxl_lightning_4step_lora", "lightning", 4, 1.0),
    ("sdxl_lightning_2step", "lightning", 2, 1.0),
    ("juggernautXL_v9Rdphoto2Lightning", "lightning", 4, 1.0),
    ("Hyper-SDXL-8steps-CFG-lora", "hyper", 8, 5.0),
    ("Hyper-SD15-1step-lora", "hyper", 1, 1.0),
    ("lcm-lora-sdv1-5", "lcm", 4, 1.0),
    ("dreamshaper_8LCM", "lcm", 4, 1.0),
    ("sd_xl_turbo_1.0_fp16", "turbo", 1, 0.0),
    ("sdxl_turbo_40steps", "turbo", 1, 0.0),  # a count beyond the family's range is not taken
])
def test_names_give_the_family_and_the_step_count_they_name(name, key, steps, cfg):
    preset = detect_text(name)
    assert (preset.key, preset.steps, preset.cfg_scale) == (key, steps, cfg)


@pytest.mark.parametrize("name", ["hyperrealistic_v2", "realisticVision_v51", "calcium_xl", "sd_xl_base_1.0"])
def test_ordinary_names_are_not_few_step(name):
    assert detect_text(name) is None


def test_metadata_is_read_before_the_name(tmp_path):
    lora = write_safetensors(tmp_path / "speedy.safetensors", kohya_lora_shapes(),
                             {"ss_output_name": "sdxl_lightning_8step_lora", "ss_sd_model_name": "sd_xl_base_1.0"})
    found = detect_source(str(lora))
    assert (found.preset.key, found.preset.steps, found.source, found.clue) == (
        "lightning", 8, "metadata", "sdxl_lightning_8step_lora")
    assert found.offer("model") == ("This looks like an SDXL-Lightning model (its metadata says "
                                    "'sdxl_lightning_8step_lora'): use Euler Trailing, 8 steps, CFG 1?")
    titled = write_safetensors(tmp_path / "lightning-merge.safetensors", kohya_lora_shapes(),
                               {"modelspec.title": "Hyper-SD 2-step", "modelspec.architecture": "stable-diffusion-v1"})
    assert (detect_source(str(titled)).preset.key, detect_source(str(titled)).preset.steps) == ("hyper", 2)


def test_a_training_base_is_no_clue_and_the_name_is_the_last_hint(tmp_path):
    trained_on_turbo = write_safetensors(tmp_path / "ink.safetensors", kohya_lora_shapes(),
                                         {"ss_sd_model_name": "sd_xl_turbo_1.0", "ss_output_name": "ink"})
    assert detect_source(str(trained_on_turbo)) is None
    named = write_safetensors(tmp_path / "lcm-lora-sdxl.safetensors", kohya_lora_shapes(), {"format": "pt"})
    found = detect_source(str(named))
    assert (found.preset.key, found.source) == ("lcm", "name")
    assert "going by its name 'lcm-lora-sdxl'" in found.offer("LoRA")


def test_a_diffusers_folder_is_read_by_its_scheduler_config(tmp_path, tiny_sd_dir):
    folder = tmp_path / "my-model"
    shutil.copytree(tiny_sd_dir / "scheduler", folder / "scheduler")
    assert detect_source(str(folder)) is None  # the tiny model ships PNDM, like SD 1.5
    config = folder / "scheduler" / "scheduler_config.json"
    data = json.loads(config.read_text())
    config.write_text(json.dumps({**data, "_class_name": "EulerAncestralDiscreteScheduler",
                                  "timestep_spacing": "trailing"}))
    found = detect_source(str(folder))
    assert (found.preset.key, found.source) == ("turbo", "scheduler config")
    config.write_text(json.dumps({**data, "_class_name": "LCMScheduler"}))
    assert detect_source(str(folder)).preset.key == "lcm"


def test_a_hub_id_is_read_by_the_loaded_scheduler_then_its_name():
    assert detect_source("stabilityai/sdxl-turbo").preset.key == "turbo"
    lightning = {"_class_name": "EulerDiscreteScheduler", "timestep_spacing": "trailing"}
    found = detect_source("someone/fast-model-2step", lightning)
    assert (found.preset.key, found.preset.steps, found.source) == ("lightning", 2, "scheduler config")
    assert detect("plain", {}, {"_class_name": "EulerDiscreteScheduler", "timestep_spacing": "leading"}) is None


def test_settings_that_are_a_preset_are_recognised():
    assert matching_preset("euler_a_trailing", 2, 0.0).key == "turbo"
    assert matching_preset("lcm", 6, 1.0).key == "lcm"
    assert matching_preset("lcm", 25, 7.0) is None
    assert matching_preset("", 1, 0.0) is None


def test_library_entries_carry_the_detection(tmp_path, tiny_sd_checkpoint):
    loras = tmp_path / "loras"
    write_safetensors(loras / "fast.safetensors", kohya_lora_shapes(), {"ss_output_name": "Hyper-SD15-4steps-lora"})
    write_safetensors(loras / "ink.safetensors", kohya_lora_shapes())
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    shutil.copy(tiny_sd_checkpoint, checkpoints / "dreamshaper_8LCM.safetensors")
    shutil.copy(tiny_sd_checkpoint, checkpoints / "plain.safetensors")
    entries = {e.name: e for e in scan([LibraryFolder(loras, ModelKind.LORA),
                                        LibraryFolder(checkpoints, ModelKind.CHECKPOINT)])}
    assert entries["fast"].fewstep.preset.key == "hyper" and entries["fast"].fewstep.source == "metadata"
    assert entries["dreamshaper_8LCM"].fewstep.preset.key == "lcm"
    assert entries["ink"].fewstep is None and entries["plain"].fewstep is None
