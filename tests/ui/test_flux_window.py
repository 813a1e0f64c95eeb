"""The real window on a tiny Flux.1-dev model: the family's controls are shown (distilled guidance, no negative
prompt, its own sampler), its defaults put in, and a run previews every step and records the family."""

from PySide6.QtCore import Qt

from studio.core.metadata import read_recipe
from studio.core.paths import outputs_dir
from tests.ui.conftest import wait_idle, wait_ready

SIZE = 64


def test_flux_controls_are_shown_and_a_run_records_the_family(open_window, tiny_flux_dir, qtbot):
    window = open_window(str(tiny_flux_dir))
    wait_ready(qtbot, window)
    params, prompts = window.params, window.prompts
    assert params.cfg_label.text() == "Distilled CFG" and "Distilled CFG Scale" in params.cfg_spin.toolTip()
    assert (params.cfg_spin.value(), params.steps_spin.value()) == (3.5, 28)  # the Flux pipeline's defaults
    assert not params.scheduler_combo.isEnabled()
    assert "FlowMatchEulerDiscreteScheduler" in params.scheduler_combo.toolTip()
    assert not prompts.negative_edit.isEnabled()
    assert "no negative prompt" in prompts.negative_edit.placeholderText()

    qtbot.keyClicks(prompts.prompt_edit, "a (red:1.2) bicycle")
    qtbot.waitUntil(lambda: "weights are removed" in prompts.notice_label.text())
    params.set_size(SIZE, SIZE)
    params.steps_spin.setValue(3)
    params.random_seed_check.setChecked(False)
    previews = []
    window.session.preview.connect(lambda image: previews.append(image.size().toTuple()))
    qtbot.keyClick(prompts.prompt_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    assert previews == [(SIZE // 8, SIZE // 8)] * 3
    [saved] = sorted(outputs_dir().glob("*.png"))
    recipe = read_recipe(saved)
    assert (recipe.model_family, recipe.cfg_scale, recipe.steps, recipe.negative_prompt) == ("flux", 3.5, 3, "")


def test_the_hires_group_offers_no_latent_upscaler_for_flux_and_runs_with_lanczos(open_window, tiny_flux_dir, qtbot):
    window = open_window(str(tiny_flux_dir))
    wait_ready(qtbot, window)
    hires, params = window.params.hires_group, window.params
    combo = hires.upscaler_combo
    latent = [row for row in range(combo.count()) if combo.itemText(row).startswith("Latent")]
    assert latent and not any(combo.model().item(row).isEnabled() for row in latent)
    assert combo.currentText() == "Lanczos" and "cannot be upscaled as latents" in combo.toolTip()
    params.set_size(SIZE, SIZE)
    params.steps_spin.setValue(2)
    hires.setChecked(True)
    hires.scale_spin.setValue(1.5)
    hires.steps_spin.setValue(1)
    qtbot.keyClicks(window.prompts.prompt_edit, "a lighthouse")
    with qtbot.waitSignal(window.session.results_changed, timeout=120_000):
        window.generate()
    recipe = read_recipe(window.session.results[-1].path)
    assert recipe.hires.upscaler == "Lanczos" and recipe.model_family == "flux"
