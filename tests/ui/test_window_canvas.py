"""The canvas in the window on a scripted engine: modes, using a result, recipes in dropped images, menus and
keys, and what a generation sends."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QByteArray, QMimeData, Qt
from PySide6.QtGui import QGuiApplication

from studio.core.outputs import write_image
from studio.core.recipe import Recipe
from tests.ui.canvas_work import array, drop_file, noise_picture, paint
from tests.ui.conftest import TIMEOUT, wait_idle, wait_ready
from tests.ui.fakes import FakeEngine
from tests.ui.test_canvas_drops import png_bytes


@pytest.fixture
def engine():
    return FakeEngine()


@pytest.fixture
def window(open_window, tmp_path, engine, qtbot):
    model = tmp_path / "fake-model"
    model.mkdir()
    window = open_window(str(model), make_engine=lambda: engine)
    wait_ready(qtbot, window)
    window.params.set_size(64, 64)
    window.params.steps_spin.setValue(2)
    return window


@pytest.fixture
def picture(tmp_path):
    return noise_picture(tmp_path / "photo.png", (96, 64))


def run(qtbot, window):
    window.generate()
    wait_idle(qtbot, window)


def test_the_mode_follows_the_canvas_and_can_be_overridden(window, engine, picture, qtbot):
    panel, combo = window.image_panel, window.image_panel.mode_combo
    assert combo.currentText() == "Auto (Text to image)"
    assert not panel.strength_spin.isVisible() and not panel.extend_button.isEnabled()
    drop_file(qtbot, window.canvas, picture)
    assert combo.currentText() == "Auto (Image to image)"
    assert panel.strength_spin.isVisible() and not panel.feather_spin.isVisible()
    assert not window.params.width_spin.isEnabled() and not window.params.size_combo.isEnabled()
    paint(qtbot, window.canvas, (20, 20), (40, 30))
    assert combo.currentText() == "Auto (Inpaint)"
    assert panel.feather_spin.isVisible() and panel.only_masked_check.isVisible()
    assert not panel.only_masked_check.isChecked()  # 96x64 is smaller than the model's size

    combo.setCurrentIndex(combo.findText("Image to image"))  # keep the mask, but repaint the whole image
    run(qtbot, window)
    sent = engine.requests[-1]
    assert sent.init_image is not None and sent.mask is None and (sent.width, sent.height) == (96, 64)
    combo.setCurrentIndex(combo.findText("Text to image"))  # ignore the canvas
    assert window.params.width_spin.isEnabled()
    run(qtbot, window)
    sent = engine.requests[-1]
    assert sent.init_image is None and (sent.width, sent.height) == (64, 64)

    combo.setCurrentIndex(combo.findText("Inpaint"))
    window.canvas.clear_mask()  # the choice is no longer possible: back to the automatic mode
    assert combo.currentText() == "Auto (Image to image)" and panel.mode().value == "img2img"
    assert not combo.model().item(combo.findText("Inpaint")).isEnabled()


def test_use_result_as_input_keeps_the_mask_and_undo_brings_back_the_image(window, picture, qtbot):
    drop_file(qtbot, window.canvas, picture)
    before = array(window.canvas.image())
    paint(qtbot, window.canvas, (20, 20), (40, 30))
    painted = array(window.canvas.mask())
    run(qtbot, window)
    assert window.canvas.showing_result() and window.result_bar.isVisible()
    result = array(window.results_strip._results[0].image)
    assert result.shape == before.shape  # the result is at the canvas's resolution

    qtbot.mouseClick(window.result_bar.use_button, Qt.MouseButton.LeftButton)
    assert np.array_equal(array(window.canvas.image()), result)
    assert np.array_equal(array(window.canvas.mask()), painted)
    assert not window.canvas.showing_result() and not window.result_bar.isVisible()
    window.menus.undo_action.trigger()
    assert np.array_equal(array(window.canvas.image()), before)
    assert np.array_equal(array(window.canvas.mask()), painted)


def test_show_source_hides_the_result_and_a_stroke_does_too_but_it_stays_one_click_away(window, picture, qtbot):
    drop_file(qtbot, window.canvas, picture)
    run(qtbot, window)
    bar = window.result_bar
    name = window.results_strip._results[0].path.name
    qtbot.mouseClick(bar.source_button, Qt.MouseButton.LeftButton)
    assert not window.canvas.showing_result()
    assert bar.isVisible() and bar.source_button.text() == "Show result" and name in bar.label.text()
    assert not bar.use_button.isEnabled()
    qtbot.mouseClick(bar.source_button, Qt.MouseButton.LeftButton)  # and back
    assert window.canvas.showing_result() and bar.source_button.text() == "Show source"
    window.results_strip.picked.emit(window.results_strip._results[0])
    assert window.canvas.showing_result()
    paint(qtbot, window.canvas, (10, 10))  # painting shows the source and the mask again
    assert not window.canvas.showing_result() and window.canvas.mask() is not None
    qtbot.mouseClick(bar.source_button, Qt.MouseButton.LeftButton)  # the result is not lost
    assert window.canvas.showing_result() and window.shown_result() is window.results_strip._results[0]


def test_a_dropped_png_with_a_recipe_offers_to_restore_it(window, qtbot, tmp_path):
    recipe = Recipe(prompt="a lighthouse, oil painting", negative_prompt="blurry", seed=987654, steps=31,
                    cfg_scale=5.5, width=512, height=768, sampler="DPM++ 2M Karras", model="other-model",
                    mode="img2img", strength=0.4, scheduler="dpmpp_2m_karras")
    path = write_image(tmp_path / "made-elsewhere.png", Image.new("RGB", (48, 32), (9, 99, 199)), recipe)
    drop_file(qtbot, window.canvas, path)
    bar = window.message_bar
    qtbot.waitUntil(lambda: bar.action_button.isVisible(), timeout=TIMEOUT)
    assert "made-elsewhere.png" in bar.text() and window.canvas.image().size().toTuple() == (48, 32)
    assert window.prompts.prompt() == ""  # nothing changes until asked

    qtbot.mouseClick(bar.action_button, Qt.MouseButton.LeftButton)
    p = window.params
    assert window.prompts.prompt() == "a lighthouse, oil painting" and window.prompts.negative_prompt() == "blurry"
    assert not p.random_seed_check.isChecked() and int(p.seed_spin.value()) == 987654
    assert (p.steps_spin.value(), p.cfg_spin.value(), p.scheduler_combo.currentData()) == (31, 5.5, "dpmpp_2m_karras")
    assert window.image_panel.strength_spin.value() == 0.4
    assert not bar.isVisible()


def test_a_picture_without_a_recipe_offers_nothing(window, picture, qtbot):
    drop_file(qtbot, window.canvas, picture)
    qtbot.wait(300)
    assert not window.message_bar.isVisible()


def test_file_menu_opens_images_and_saves_and_loads_masks(window, picture, qtbot, tmp_path):
    menus = window.menus
    assert not menus.save_mask_action.isEnabled()
    menus.ask_open_image = lambda: picture
    with qtbot.waitSignal(window.canvas.image_dropped, timeout=TIMEOUT):
        menus.open_image_action.trigger()
    assert window.canvas.image().size().toTuple() == (96, 64) and menus.save_mask_action.isEnabled()
    paint(qtbot, window.canvas, (50, 30))
    painted = array(window.canvas.mask())
    menus.ask_save_mask = lambda: str(tmp_path / "mask.png")
    menus.save_mask_action.trigger()
    window.canvas.clear_mask()
    menus.ask_load_mask = lambda: str(tmp_path / "mask.png")
    menus.load_mask_action.trigger()
    assert np.array_equal(array(window.canvas.mask()), painted)

    Image.new("L", (10, 10)).save(tmp_path / "small.png")
    menus.ask_load_mask = lambda: str(tmp_path / "small.png")
    menus.load_mask_action.trigger()
    assert "must be the same size" in window.message_bar.text()


def test_ctrl_v_pastes_text_into_the_prompt_and_images_elsewhere(window, qtbot):
    clipboard = QGuiApplication.clipboard()
    clipboard.setText("misty harbour")
    window.prompts.prompt_edit.setFocus()
    qtbot.keyClick(window.prompts.prompt_edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert window.prompts.prompt() == "misty harbour" and window.canvas.image() is None

    mime = QMimeData()
    mime.setData("image/png", QByteArray(png_bytes()))
    clipboard.setMimeData(mime)
    window.generate_button.setFocus()
    with qtbot.waitSignal(window.canvas.image_dropped, timeout=TIMEOUT):
        qtbot.keyClick(window.generate_button, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.image().size().toTuple() == (30, 20)
    assert window.prompts.prompt() == "misty harbour"
    clipboard.clear()


def test_ctrl_z_undoes_typing_in_the_prompt_and_strokes_elsewhere(window, picture, qtbot):
    drop_file(qtbot, window.canvas, picture)
    paint(qtbot, window.canvas, (50, 30))
    qtbot.keyClicks(window.prompts.prompt_edit, "owl")
    qtbot.keyClick(window.prompts.prompt_edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.prompts.prompt() == "" and window.canvas.mask() is not None
    window.generate_button.setFocus()
    qtbot.keyClick(window.generate_button, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.mask() is None
    qtbot.keyClick(window.generate_button, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.canvas.mask() is not None


def test_images_pasted_or_dropped_on_the_prompt_go_to_the_canvas(window, picture, qtbot):
    from tests.ui.test_canvas_drops import drop, file_mime

    mime = QMimeData()
    mime.setData("image/png", QByteArray(png_bytes()))
    QGuiApplication.clipboard().setMimeData(mime)
    window.prompts.prompt_edit.setFocus()
    with qtbot.waitSignal(window.canvas.image_dropped, timeout=TIMEOUT):
        qtbot.keyClick(window.prompts.prompt_edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.image().size().toTuple() == (30, 20) and window.prompts.prompt() == ""
    QGuiApplication.clipboard().clear()

    with qtbot.waitSignal(window.canvas.image_dropped, timeout=TIMEOUT):
        assert drop(window.prompts.negative_edit.viewport(), file_mime(picture))
    assert window.canvas.image().size().toTuple() == (96, 64)
    assert window.prompts.negative_prompt() == ""  # not the file's name
