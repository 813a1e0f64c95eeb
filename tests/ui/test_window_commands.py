"""What a new user reaches for in the window (a scripted engine: pure window behaviour): the size an image
mode uses, a focusing click, File > New / Save image as / Copy image / Open outputs folder, Help, long errors."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog, QLabel

from studio.core.metadata import read_recipe
from studio.core.paths import outputs_dir, studio_home
from studio.ui import help_dialogs
from tests.ui.canvas_work import array, drop_file, noise_picture
from tests.ui.conftest import TIMEOUT, wait_idle, wait_ready
from tests.ui.fakes import FakeEngine


@pytest.fixture
def window(open_window, tmp_path, qtbot):
    model = tmp_path / "fake-model"
    model.mkdir()
    window = open_window(str(model), make_engine=FakeEngine)
    wait_ready(qtbot, window)
    return window


def size_fields(window) -> tuple[str, str]:
    return window.params.width_spin.text(), window.params.height_spin.text()


def test_the_greyed_size_fields_show_the_size_an_image_is_generated_at(window, tmp_path, qtbot):
    window.params.set_size(640, 384)
    drop_file(qtbot, window.canvas, noise_picture(tmp_path / "wide.png", (1536, 1024)))
    assert not window.params.width_spin.isEnabled()
    assert size_fields(window) == ("624 px", "416 px")  # 1536x1024 fitted to the SD 1.x area, on the grid of 8
    assert window.params.size() == (640, 384)  # the text-to-image size is kept...
    window.image_panel.only_masked_check.setChecked(True)
    window.canvas.fill_mask()
    assert window.image_panel.mode().value == "inpaint"
    assert size_fields(window) == ("—", "—")  # ...only the mask's bounds tell, when the run starts
    window.menus.new_action.trigger()
    assert window.params.width_spin.isEnabled() and size_fields(window) == ("640 px", "384 px")  # ...and back
    assert window.params.size_combo.currentData() == "640x384"
    window.params.set_size(512, 512)
    drop_file(qtbot, window.canvas, noise_picture(tmp_path / "square.png", (512, 512)))
    assert size_fields(window) == ("512 px", "512 px") and window.params.size_combo.currentText() != "Custom"
    window.params.size_combo.setCurrentIndex(window.params.size_combo.count() - 1)  # shown while it follows
    window.menus.new_action.trigger()
    assert window.params.size_combo.currentData() == "512x512"


def test_the_click_that_focuses_the_canvas_does_not_paint(window, tmp_path, qtbot):
    drop_file(qtbot, window.canvas, noise_picture(tmp_path / "photo.png", (96, 64)))
    window.prompts.prompt_edit.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.prompts.prompt_edit)
    at = window.canvas.map_from_image(QPointF(48, 32)).toPoint()
    qtbot.mouseClick(window.canvas, Qt.MouseButton.LeftButton, pos=at)
    assert window.canvas.hasFocus()
    assert window.canvas.mask() is None  # focused, not painted
    qtbot.mouseClick(window.canvas, Qt.MouseButton.LeftButton, pos=at)
    assert array(window.canvas.mask())[32, 48] == 255  # the next click paints


def test_file_new_clears_the_canvas_and_undo_brings_it_back(window, tmp_path, qtbot):
    assert not window.menus.new_action.isEnabled()
    drop_file(qtbot, window.canvas, noise_picture(tmp_path / "photo.png", (96, 64)))
    before = array(window.canvas.image())
    window.canvas.fill_mask()
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.image() is None and window.image_panel.mode().value == "txt2img"
    window.menus.undo_action.trigger()
    assert np.array_equal(array(window.canvas.image()), before) and window.canvas.mask() is not None


def generate_one(window, qtbot):
    window.params.set_size(64, 64)
    window.params.steps_spin.setValue(2)
    window.prompts.prompt_edit.setPlainText("a lighthouse")
    window.generate()
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: window.canvas.showing_result(), timeout=TIMEOUT)
    [result] = window.session.results
    return result


def test_save_image_as_writes_the_result_with_its_recipe_or_the_canvas_image(window, tmp_path, qtbot):
    result = generate_one(window, qtbot)
    target = tmp_path / "chosen" / "keeper"
    window.menus.ask_save_image = lambda name: (name == result.path.name or pytest.fail(name)) and str(target)
    with qtbot.waitSignal(window.menus.export.saved, timeout=TIMEOUT):
        window.menus.save_image_action.trigger()
    saved = target.with_suffix(".png")
    assert saved.read_bytes() == result.path.read_bytes()
    window.menus.save_image_action.trigger()  # "keeper" again: keeper.png exists, and nobody was asked about it
    assert window.message_bar.text() == "keeper.png already exists; choose another name."
    assert read_recipe(saved).prompt == "a lighthouse"
    assert "keeper.png" in window.status.currentMessage()

    window.canvas.clear_overlay()  # back to the canvas (empty): nothing to save
    window.menus.ask_save_image = lambda name: pytest.fail("asked with nothing to save")
    window.menus.save_image_action.trigger()
    drop_file(qtbot, window.canvas, noise_picture(tmp_path / "photo.png", (96, 64)))
    window.menus.ask_save_image = lambda name: str(tmp_path / "canvas.png")
    with qtbot.waitSignal(window.menus.export.saved, timeout=TIMEOUT):
        window.menus.save_image_action.trigger()
    assert np.array_equal(np.asarray(Image.open(tmp_path / "canvas.png").convert("RGB")), array(window.canvas.image()))


def test_save_image_as_into_an_unwritable_place_says_so(window, tmp_path, qtbot):
    generate_one(window, qtbot)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    window.menus.ask_save_image = lambda name: str(blocker / "x.png")
    with qtbot.waitSignal(window.menus.export.failed, timeout=TIMEOUT):
        window.menus.save_image_action.trigger()
    assert window.message_bar.text().startswith("The image could not be saved as x.png (")


def test_copy_image_puts_the_png_with_its_recipe_on_the_clipboard(window, qtbot):
    result = generate_one(window, qtbot)
    with qtbot.waitSignal(window.menus.export.copied, timeout=TIMEOUT):
        window.menus.copy_image_action.trigger()
    clipboard = QGuiApplication.clipboard()
    try:
        mime = clipboard.mimeData()
        assert bytes(mime.data("image/png")) == result.path.read_bytes()
        assert mime.imageData().size() == result.image.size()
    finally:
        clipboard.clear()  # Qt's offscreen platform crashes at exit while its clipboard holds data


def test_open_outputs_folder_opens_it_on_the_desktop(window):
    opened = []
    window.menus.open_url = opened.append
    window.menus.outputs_action.trigger()
    assert opened == [QUrl.fromLocalFile(str(outputs_dir()))]


def open_dialog(window, action) -> QDialog:
    shown = []
    window.menus.show_dialog = shown.append
    action.trigger()
    [dialog] = shown
    return dialog


def test_the_shortcut_list_names_every_menu_shortcut_and_the_canvas_keys(window):
    dialog = open_dialog(window, window.menus.shortcuts_action)
    text = dialog.findChild(QLabel, "shortcutsText").text()
    for keys, command in [("Ctrl+N", "New"), ("Ctrl+O", "Open image"), ("Ctrl+Shift+S", "Save image as"),
                          ("Ctrl+Shift+C", "Copy image"), ("Ctrl+Z", "Undo"), ("Ctrl+Shift+Z", "Redo"),
                          ("Ctrl+V", "Paste image"), ("F1", "Keyboard shortcuts"),
                          ("Ctrl+Enter", "Generate"), ("Ctrl+Shift+Enter", "Generate next (ahead of the queued jobs)"),
                          ("Esc", "Cancel the generation"), ("B", "Brush (on the canvas)")]:
        assert (keys, command) in dialog.rows
        assert command in text


def test_about_names_the_version_the_folders_and_the_engine(window, monkeypatch):
    text = open_dialog(window, window.menus.about_action).text.text()
    assert help_dialogs.app_version() in text and "Latent Studio" in text
    assert str(studio_home()) in text and str(outputs_dir()) in text
    assert "PyTorch" in text
    monkeypatch.setattr(help_dialogs.importlib.util, "find_spec", lambda name: None)
    monkeypatch.delitem(help_dialogs.sys.modules, "torch", raising=False)
    assert help_dialogs.torch_status() == "PyTorch is not installed: models cannot be loaded yet."


def test_a_long_error_wraps_in_full(window, qtbot):
    window.resize(1024, 700)
    message = ("The checkpoint 'a-very-long-model-name-v2-final-pruned-emaonly.safetensors' could not be loaded: its "
               "weights do not have the shapes of a standard SD 1.x model; details are in the log. "
               "fake-model is still loaded.")
    window.show_error(message)
    label = window.message_bar.text_label
    qtbot.waitUntil(lambda: label.height() >= 2 * label.fontMetrics().height())
    assert label.text() == message
    assert label.heightForWidth(label.width()) <= label.height()  # every line has room
    assert window.message_bar.geometry().right() <= window.message_bar.parentWidget().width()


def test_about_shows_the_app_icon_when_there_is_one(window, tmp_path, monkeypatch):
    icon = tmp_path / "icon.png"
    Image.new("RGB", (256, 256), (200, 80, 40)).save(icon)
    monkeypatch.setattr(help_dialogs, "ICON", icon)
    dialog = open_dialog(window, window.menus.about_action)
    assert dialog.icon.pixmap().width() == 96 and not dialog.icon.isHidden()
    monkeypatch.setattr(help_dialogs, "ICON", tmp_path / "missing.png")
    assert open_dialog(window, window.menus.about_action).icon.isHidden()
