"""Upscale and refine through the real window on the real engine (tiny random-weight model, the built-in
Lanczos upscaler): the option in the Upscale popup, one progress bar over all tiles, previews of the whole
picture, the result saved with its recipe, and cancel."""

import numpy as np
import pytest

from studio.core.metadata import read_recipe
from studio.core.paths import outputs_dir
from studio.core.tiles import TiledRefine
from tests.ui.canvas_work import array, drop_file, noise_picture
from tests.ui.conftest import TIMEOUT as BASE_TIMEOUT

TIMEOUT = 6 * BASE_TIMEOUT  # several tiles of image-to-image on a busy machine


@pytest.fixture
def window(tiny_window, qtbot, tmp_path):
    window = tiny_window
    p = window.params
    p.random_seed_check.setChecked(False)
    p.seed_spin.setValue(5)
    p.steps_spin.setValue(8)
    p.scheduler_combo.setCurrentIndex(p.scheduler_combo.findData("euler"))
    window.prompts.prompt_edit.setPlainText("a harbour at night")
    drop_file(qtbot, window.canvas, noise_picture(tmp_path / "photo.png", (48, 32)))
    return window


def _refine(window, *, strength=0.5, tile=64):
    button = window.image_panel.upscale_button
    button.refresh()
    button.model_combo.setCurrentText("Lanczos")
    button.scale_spin.setValue(2.0)
    button.refine_check.setChecked(True)
    button.strength_spin.setValue(strength)
    button.tile_spin.setValue(tile)
    assert button.apply_button.text() == "Upscale and refine"
    button.apply_button.click()


def test_the_refine_option_needs_a_loaded_model(open_window):
    button = open_window().image_panel.upscale_button
    assert not button.refine_check.isEnabled() and not button.refining()
    assert [button.model_combo.itemText(i) for i in range(2)] == ["Lanczos", "Nearest"]


def test_upscale_and_refine_makes_a_saved_result_with_one_progress_bar(window, qtbot):
    before = array(window.canvas.image())
    progress, previews = [], []
    window.session.progress_changed.connect(lambda p: p is not None and progress.append((p.step, p.total)))
    window.session.preview.connect(lambda image: previews.append(image.size().toTuple()))
    with qtbot.waitSignal(window.session.results_changed, timeout=TIMEOUT):
        _refine(window)
    qtbot.waitUntil(lambda: not window.session.busy, timeout=TIMEOUT)
    (result,) = window.session.results
    assert result.image.size().toTuple() == (96, 64)
    assert result.path.parent == outputs_dir()
    recipe = read_recipe(result.path)
    assert recipe.tiled_refine == TiledRefine(upscaler="Lanczos", scale=2.0, tile_width=64, tile_height=64,
                                              overlap=16)
    assert (recipe.prompt, recipe.seed, recipe.strength, recipe.mode) == ("a harbour at night", 5, 0.5, "img2img")
    # 96x64: two 64-pixel tiles, 4 of the 8 steps each at strength 0.5, on one bar
    assert progress[-1] == (8, 8) and {total for _, total in progress} == {8}
    assert [step for step, _ in progress] == sorted(step for step, _ in progress)
    assert previews and set(previews) == {(96, 64)}  # the whole picture filling in, tile by tile
    assert window.canvas.showing_result() and np.array_equal(array(window.canvas.image()), before)
    window.result_bar.use_button.click()
    assert window.canvas.image().size().toTuple() == (96, 64)


def test_cancel_while_refining_saves_nothing(window, qtbot):
    window.session.progress_changed.connect(
        lambda p: p is not None and p.total == 8 and p.step >= 1 and window.session.cancel())
    with qtbot.waitSignal(window.session.cancelled, timeout=TIMEOUT):
        _refine(window)
    qtbot.waitUntil(lambda: not window.session.busy, timeout=TIMEOUT)
    assert list(outputs_dir().glob("*.png")) == [] and window.session.results == ()
    assert window.canvas.image().size().toTuple() == (48, 32)
