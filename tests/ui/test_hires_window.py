"""Hires fix through the real window on the real engine (tiny random-weight model): the group in the
parameters panel, one progress bar over both passes, cancel in the second pass, restoring a recipe."""

import numpy as np
import pytest
from PIL import Image

from studio.core.hires import HiresPass
from studio.core.metadata import read_recipe
from studio.core.paths import outputs_dir
from studio.core.recipe import Recipe
from studio.core.request import GenerationRequest
from studio.engine.engine import Engine
from tests.ui.canvas_work import drop_file, noise_picture
from tests.ui.conftest import TIMEOUT, wait_idle


@pytest.fixture
def window(tiny_window):
    window = tiny_window
    p = window.params
    p.random_seed_check.setChecked(False)
    p.seed_spin.setValue(11)
    p.steps_spin.setValue(3)
    p.scheduler_combo.setCurrentIndex(p.scheduler_combo.findData("euler"))
    window.prompts.prompt_edit.setPlainText("a harbour at night")
    return window


def turn_on_hires(window, *, scale=2.0, strength=0.5, steps=2, upscaler="Lanczos"):
    group = window.params.hires_group
    group.setChecked(True)
    group.scale_spin.setValue(scale)
    group.strength_spin.setValue(strength)
    group.steps_spin.setValue(steps)
    group.upscaler_combo.setCurrentText(upscaler)


def test_the_hires_group_makes_a_two_pass_image_with_one_progress_bar(window, tiny_sd_dir, qtbot):
    turn_on_hires(window)
    assert window.params.hires_group.target_label.text() == "→ 128 × 128 px"
    seen = []
    window.session.progress_changed.connect(lambda p: p is not None and seen.append((p.step, p.total)))
    window.generate()
    wait_idle(qtbot, window)

    assert seen == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]  # 3 first-pass steps, then 2 hires steps
    [saved] = sorted(outputs_dir().glob("*.png"))
    recipe = read_recipe(saved)
    assert (recipe.width, recipe.height) == (64, 64)
    assert recipe.hires == HiresPass(scale=2.0, strength=0.5, steps=2, upscaler="Lanczos")
    engine = Engine(previews="off")
    engine.load(str(tiny_sd_dir))
    expected = engine.generate(GenerationRequest("a harbour at night", seed=11, steps=3, width=64, height=64,
                                                 scheduler="euler", hires=recipe.hires)).images[0]
    out = np.asarray(Image.open(saved).convert("RGB"))
    assert out.shape == (128, 128, 3) and np.array_equal(out, np.asarray(expected))


def test_cancel_in_the_second_pass_writes_nothing_and_the_next_run_works(window, qtbot):
    turn_on_hires(window, steps=20, strength=0.8)

    def cancel_in_pass_two(progress):
        if progress is not None and progress.step == 4:
            window.cancel_button.click()

    window.session.progress_changed.connect(cancel_in_pass_two)
    with qtbot.waitSignal(window.session.cancelled, timeout=TIMEOUT):
        window.generate()
    wait_idle(qtbot, window)
    assert list(outputs_dir().glob("*.png")) == []
    window.session.progress_changed.disconnect(cancel_in_pass_two)
    window.params.hires_group.steps_spin.setValue(1)
    window.generate()
    wait_idle(qtbot, window)
    [saved] = outputs_dir().glob("*.png")
    assert Image.open(saved).size == (128, 128)


def test_with_a_canvas_image_hires_is_off_and_not_sent(window, qtbot, tmp_path):
    turn_on_hires(window)
    drop_file(qtbot, window.canvas, noise_picture(tmp_path / "photo.png", (64, 64)))
    group = window.params.hires_group
    assert not group.isEnabled() and group.hires() is None
    window.generate()
    wait_idle(qtbot, window)
    [saved] = outputs_dir().glob("*.png")
    assert read_recipe(saved).hires is None and Image.open(saved).size == (64, 64)


def test_a_recipe_with_a_hires_pass_is_restored_into_the_group(window):
    hires = HiresPass(width=768, height=1024, strength=0.35, steps=12, upscaler="Latent (nearest-exact)")
    recipe = Recipe(prompt="p", negative_prompt="", seed=3, steps=20, cfg_scale=7.0, width=384, height=512,
                    sampler="Euler", model="m", hires=hires)
    window.apply_recipe(recipe)
    group = window.params.hires_group
    assert group.isChecked() and group.target_label.text() == "→ 768 × 1024 px"
    assert group.hires() == HiresPass(scale=2.0, strength=0.35, steps=12, upscaler="Latent (nearest-exact)")
    window.apply_recipe(Recipe(prompt="p", negative_prompt="", seed=3, steps=20, cfg_scale=7.0, width=512,
                               height=512, sampler="Euler", model="m"))
    assert not group.isChecked()


def test_the_hires_settings_persist(qtbot):
    from studio.core.settings import Settings
    from studio.ui.params_panel import ParamsPanel

    panel = ParamsPanel()
    qtbot.addWidget(panel)
    panel.hires_group.setChecked(True)
    panel.hires_group.scale_spin.setValue(1.5)
    panel.hires_group.steps_spin.setValue(7)
    panel.hires_group.upscaler_combo.setCurrentText("Latent (bicubic)")
    settings = Settings()
    panel.store(settings)
    restored = ParamsPanel()
    qtbot.addWidget(restored)
    restored.load(settings)
    assert restored.hires_group.hires() == HiresPass(scale=1.5, strength=0.5, steps=7, upscaler="Latent (bicubic)")


def test_an_sd_model_offers_the_latent_upscalers(window):
    combo = window.params.hires_group.upscaler_combo
    assert combo.model().item(combo.findText("Latent")).isEnabled() and "Latent:" in combo.toolTip()
