"""Few-step presets in the real window on the real engine: offered for a LoRA the prompt uses and for a model
that loads, applied with one click, chosen from the picker, and undone by "Standard"."""

from __future__ import annotations

import json
import shutil

from diffusers import DiffusionPipeline
from PySide6.QtCore import Qt

from studio.core.metadata import read_recipe
from studio.core.model_folders import ModelKind
from studio.core.paths import models_dir, outputs_dir
from studio.core.settings import Settings, save_settings
from studio.ui.fewstep_binding import PROMPT_PAUSE_MS
from tests.tiny_networks import kohya_lora
from tests.ui.conftest import TIMEOUT, wait_idle, wait_ready
from tests.ui.test_generation import set_params


def _choose(window, key: str) -> None:
    """What a user's pick in the preset list does (``activated`` is only emitted for user picks)."""
    picker = window.params.fewstep_picker
    picker.activated.emit(picker.findData(key))


def test_a_lightning_lora_in_the_prompt_is_offered_its_preset_and_standard_brings_the_settings_back(
        tiny_window, tiny_sd_dir, qtbot):
    window = tiny_window
    pipe = DiffusionPipeline.from_pretrained(tiny_sd_dir, local_files_only=True)
    kohya_lora(pipe, models_dir() / "loras" / "speedy.safetensors",
               metadata={"ss_output_name": "sdxl_lightning_2step_lora"})
    window.library.rescan()
    qtbot.waitUntil(lambda: window.library.find(ModelKind.LORA, "speedy") is not None, timeout=TIMEOUT)
    set_params(window, seed=7, steps=20, cfg=6.0)
    window.params.scheduler_combo.setCurrentIndex(window.params.scheduler_combo.findData("euler"))

    qtbot.keyClicks(window.prompts.prompt_edit, "a lighthouse <lora:speedy:1>")
    qtbot.waitUntil(window.message_bar.isVisible, timeout=TIMEOUT)
    assert window.message_bar.text() == ("This looks like an SDXL-Lightning LoRA (its metadata says "
                                         "'sdxl_lightning_2step_lora'): use Euler Trailing, 2 steps, CFG 1?")
    assert window.message_bar.action_button.text() == "Use"
    qtbot.mouseClick(window.message_bar.action_button, Qt.MouseButton.LeftButton)
    assert window.params.sampling() == ("euler_trailing", 2, 1.0)
    assert window.params.fewstep_picker.currentText() == "SDXL-Lightning"
    assert not window.message_bar.isVisible()

    window.generate()
    wait_idle(qtbot, window)
    (path,) = outputs_dir().glob("*.png")
    recipe = read_recipe(path)
    assert (recipe.sampler, recipe.steps, recipe.cfg_scale) == ("Euler Trailing", 2, 1.0)
    assert recipe.lora_hashes.startswith("speedy: ")

    _choose(window, "")
    assert window.params.sampling() == ("euler", 20, 6.0)
    assert window.params.fewstep_picker.currentText() == "Standard"
    qtbot.keyClicks(window.prompts.prompt_edit, " at dusk")  # the same LoRA is offered once a session
    qtbot.wait(PROMPT_PAUSE_MS * 2)  # the prompt was read again
    assert not window.message_bar.isVisible()


def test_a_model_that_loads_as_sdxl_turbo_is_offered_its_preset(tiny_window, tiny_sd_dir, tmp_path, qtbot):
    window = tiny_window
    turbo = tmp_path / "tiny-model"
    shutil.copytree(tiny_sd_dir, turbo)
    for name, key, value in (("scheduler/scheduler_config.json", "_class_name", "EulerAncestralDiscreteScheduler"),
                             ("scheduler/scheduler_config.json", "timestep_spacing", "trailing"),
                             ("model_index.json", "scheduler", ["diffusers", "EulerAncestralDiscreteScheduler"])):
        file = turbo / name
        file.write_text(json.dumps({**json.loads(file.read_text()), key: value}))
    set_params(window, seed=1, steps=25, cfg=7.0)
    window.model_picker.ask_folder = lambda: str(turbo)
    window.model_picker.activated.emit(window.model_picker.findText("Open model folder..."))
    qtbot.waitUntil(lambda: window.message_bar.isVisible() and window.session.model_source == str(turbo),
                    timeout=TIMEOUT)
    assert window.message_bar.text() == (
        "This looks like an SDXL-Turbo model (its scheduler is EulerAncestralDiscreteScheduler with trailing "
        "timesteps): use Euler a Trailing, 1 step, CFG 0 (no CFG)?")
    window.message_bar.action_button.click()
    assert window.params.sampling() == ("euler_a_trailing", 1, 0.0)
    assert window.params.scheduler_combo.itemText(0) == "Model default (Euler a Trailing)"
    wait_ready(qtbot, window)
    window.generate()
    wait_idle(qtbot, window)
    (path,) = outputs_dir().glob("*.png")
    assert (read_recipe(path).steps, read_recipe(path).cfg_scale) == (1, 0.0)


def test_the_picker_applies_any_preset_and_standard_restores_what_came_before_the_first(tiny_window):
    window = tiny_window
    window.params.set_sampling("dpmpp_2m_karras", 30, 5.5)
    _choose(window, "lcm")
    assert window.params.sampling() == ("lcm", 4, 1.0)
    assert "LCM preset: LCM, 4 steps, CFG 1." in window.status.currentMessage()
    _choose(window, "hyper")
    assert window.params.sampling() == ("ddim_trailing", 4, 1.0)
    _choose(window, "")
    assert window.params.sampling() == ("dpmpp_2m_karras", 30, 5.5)
    window.params.steps_spin.setValue(12)
    _choose(window, "")  # Standard again changes nothing
    assert window.params.sampling() == ("dpmpp_2m_karras", 12, 5.5)


def test_settings_that_are_a_preset_at_start_up_show_it_and_standard_gives_the_defaults(open_window, tiny_sd_dir,
                                                                                        qtbot):
    settings = Settings(scheduler="euler_a_trailing", steps=2, cfg_scale=0.0)
    save_settings(settings)
    window = open_window(str(tiny_sd_dir))
    wait_ready(qtbot, window)
    assert window.params.fewstep_picker.currentText() == "SDXL-Turbo"
    _choose(window, "")
    assert window.params.sampling() == ("", 25, 7.0)
