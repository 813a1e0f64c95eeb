"""The History dock through the real window: every output lands there (this window's, the CLI's, files added by
hand), search and filters, stars, trash with undo, the viewers, and an index rebuilt from the images."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from studio.core.favourites import load_favourites
from studio.core.outputs import save_image
from studio.core.paths import cache_dir, outputs_dir
from studio.core.thumbnails import thumbnails_dir
from tests.test_history_index import recipe
from tests.ui.canvas_work import array
from tests.ui.conftest import TIMEOUT, wait_idle
from tests.ui.fakes import FakeEngine

ROOT = Path(__file__).resolve().parents[2]


def listed(window):
    return [entry.name for entry in window.history_binding.panel.model.entries()]


def wait_listed(qtbot, window, count):
    qtbot.waitUntil(lambda: len(listed(window)) == count, timeout=TIMEOUT)


def made(*recipes, colours=None, days_old=None):
    paths = []
    for i, r in enumerate(recipes):
        path = save_image(Image.new("RGB", (40, 24), (colours or [(30 * i % 255, 80, 200)] * len(recipes))[i]), r)
        age = (days_old[i] if days_old else len(recipes) - i) * 24 * 3600
        os.utime(path, (time.time() - age, time.time() - age))
        paths.append(path)
    return paths


def select_rows(window, *rows):
    panel = window.history_binding.panel
    selection = panel.view.selectionModel()
    panel.view.setCurrentIndex(panel.model.index(rows[0]))
    for row in rows[1:]:
        selection.select(panel.model.index(row), selection.SelectionFlag.Select)


@pytest.fixture
def gallery(open_window, qtbot):
    """A window (scripted engine: the history needs no model) on an outputs folder made before it opened."""
    paths = made(recipe("a red fox in snow", model="fox-model", seed=1), recipe("an owl at night", seed=2),
                 recipe("red fox repainted", mode="inpaint", seed=3), recipe("a lighthouse", seed=4),
                 days_old=[40, 3, 2, 0])
    window = open_window(make_engine=FakeEngine)
    wait_listed(qtbot, window, 4)
    return window, paths


def test_generated_images_land_in_the_history_which_shows_them_over_the_canvas(tiny_window, qtbot):
    window = tiny_window
    panel = window.history_binding.panel
    assert window.findChild(type(window.history_binding.dock), "historyDock").windowTitle() == "History"
    window.params.batch_spin.setValue(2)
    window.params.steps_spin.setValue(2)
    window.generate()
    wait_idle(qtbot, window)
    first, second = (r.path for r in window.session.results)
    wait_listed(qtbot, window, 2)
    assert listed(window) == sorted([first.name, second.name], key=lambda n: -os.stat(outputs_dir() / n).st_mtime_ns)
    # The strip's pick is the gallery's current image; choosing another in the gallery shows that one.
    qtbot.waitUntil(lambda: panel.model.entry(panel.view.currentIndex().row()).name == first.name, timeout=TIMEOUT)
    panel.select(second.name)
    qtbot.waitUntil(lambda: window.shown_result() is not None and window.shown_result().path == second, timeout=TIMEOUT)
    assert window.canvas.showing_result() and second.name in window.result_bar.label.text()
    assert np.array_equal(array(window.shown_result().image), np.asarray(Image.open(second).convert("RGB")))
    assert window.shown_result().recipe.seed == window.session.results[1].recipe.seed


def test_images_written_by_the_cli_while_the_window_is_open_appear(open_window, tiny_sd_dir, qtbot):
    window = open_window(make_engine=FakeEngine)
    qtbot.waitUntil(lambda: not window.history_binding.history.scanning, timeout=TIMEOUT)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "studio", "generate", "--model", str(tiny_sd_dir), "--prompt",
                    "a heron from the command line", "--steps", "2", "--width", "64", "--height", "64",
                    "--device", "cpu", "--seed", "77"], env=env, cwd=ROOT, check=True, capture_output=True)
    wait_listed(qtbot, window, 1)
    (entry,) = window.history_binding.panel.model.entries()
    assert (entry.prompt, entry.seed, entry.model) == ("a heron from the command line", 77, tiny_sd_dir.name)


def test_search_and_filters(gallery, qtbot):
    window, (old_fox, owl, inpaint, lighthouse) = gallery
    panel = window.history_binding.panel
    assert listed(window) == [lighthouse.name, inpaint.name, owl.name, old_fox.name]
    assert panel.count_label.text() == "4 images"
    qtbot.keyClicks(panel.search, "RED fox")
    qtbot.waitUntil(lambda: listed(window) == [inpaint.name, old_fox.name], timeout=TIMEOUT)
    panel.search.clear()
    qtbot.waitUntil(lambda: len(listed(window)) == 4, timeout=TIMEOUT)
    panel.model_filter.setCurrentIndex(panel.model_filter.findText("fox-model"))
    qtbot.waitUntil(lambda: listed(window) == [old_fox.name], timeout=TIMEOUT)
    panel.model_filter.setCurrentIndex(0)
    panel.mode_filter.setCurrentIndex(panel.mode_filter.findText("Inpaint"))
    qtbot.waitUntil(lambda: listed(window) == [inpaint.name], timeout=TIMEOUT)
    panel.mode_filter.setCurrentIndex(0)
    panel.date_filter.setCurrentIndex(panel.date_filter.findText("Last 7 days"))
    qtbot.waitUntil(lambda: listed(window) == [lighthouse.name, inpaint.name, owl.name], timeout=TIMEOUT)
    panel.date_filter.setCurrentIndex(panel.date_filter.findText("Today"))
    qtbot.waitUntil(lambda: listed(window) == [lighthouse.name], timeout=TIMEOUT)
    assert panel.count_label.text() == "1 image"


def test_stars_and_the_favourites_filter(gallery, qtbot):
    window, (old_fox, owl, inpaint, lighthouse) = gallery
    panel = window.history_binding.panel
    select_rows(window, 2, 3)  # the owl and the old fox
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: load_favourites() == {owl.name, old_fox.name}, timeout=TIMEOUT)
    assert panel.model.data(panel.model.index(2)).startswith("★")
    qtbot.mouseClick(panel.favourites_only, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: listed(window) == [owl.name, old_fox.name], timeout=TIMEOUT)
    select_rows(window, 0)
    panel.star_action.trigger()  # unstarred: it leaves the list
    qtbot.waitUntil(lambda: listed(window) == [old_fox.name], timeout=TIMEOUT)
    qtbot.waitUntil(lambda: load_favourites() == {old_fox.name}, timeout=TIMEOUT)


@pytest.fixture
def trash_home(tmp_path, monkeypatch):
    home = tmp_path / "xdg-data"
    home.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home / "Trash"


def test_delete_moves_to_the_system_trash_and_undo_brings_the_images_back(gallery, qtbot, trash_home):
    window, (old_fox, owl, inpaint, lighthouse) = gallery
    panel = window.history_binding.panel
    data = {path: path.read_bytes() for path in (owl, inpaint)}
    select_rows(window, 1, 2)
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: listed(window) == [lighthouse.name, old_fox.name], timeout=TIMEOUT)
    assert not owl.exists() and not inpaint.exists()
    assert sorted(p.name for p in (trash_home / "files").iterdir()) == sorted([owl.name, inpaint.name])
    bar = window.message_bar
    assert bar.text() == "Moved 2 images to the system trash." and bar.action_button.text() == "Undo"
    qtbot.mouseClick(bar.action_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(listed(window)) == 4, timeout=TIMEOUT)
    assert all(path.read_bytes() == content for path, content in data.items())


def test_the_index_is_rebuilt_from_the_pngs_after_deleting_it(gallery, open_window, qtbot):
    window, paths = gallery
    before = window.history_binding.panel.model.entries()
    window.close()
    index = cache_dir() / "history.sqlite3"
    assert index.is_file()
    for path in cache_dir().glob("history.sqlite3*"):
        path.unlink()
    again = open_window(make_engine=FakeEngine)
    wait_listed(qtbot, again, 4)
    assert again.history_binding.panel.model.entries() == before
    assert index.is_file()


def test_thumbnails_are_made_off_the_gui_thread_and_cached(gallery, qtbot):
    window, paths = gallery
    panel = window.history_binding.panel
    colour = (200, 30, 60)
    (red,) = made(recipe("a red square", seed=9), colours=[colour], days_old=[-1])
    wait_listed(qtbot, window, 5)
    assert listed(window)[0] == red.name

    def shown_colour():
        image = panel.model.data(panel.model.index(0), Qt.ItemDataRole.DecorationRole).toImage()
        return image.pixelColor(5, 5).getRgb()[:3]

    shown_colour()  # asks for it
    qtbot.waitUntil(lambda: all(abs(a - b) < 10 for a, b in zip(shown_colour(), colour)), timeout=TIMEOUT)
    assert any(thumbnails_dir().rglob("*.jpg"))


def test_viewer_zooms_and_the_arrows_move_through_the_gallery(gallery, qtbot):
    window, (old_fox, owl, inpaint, lighthouse) = gallery
    panel = window.history_binding.panel
    viewer = panel.open_viewer(1)
    qtbot.waitExposed(viewer)
    qtbot.waitUntil(lambda: viewer.image().size().toTuple() == (40, 24), timeout=TIMEOUT)
    assert viewer.path() == inpaint
    qtbot.keyClick(viewer, Qt.Key.Key_Right)
    assert viewer.path() == owl
    qtbot.waitUntil(lambda: owl.name in viewer.label.text() and "loading" not in viewer.label.text(), timeout=TIMEOUT)
    qtbot.keyClick(viewer, Qt.Key.Key_0)
    assert viewer.zoom() == 1.0
    qtbot.keyClick(viewer, Qt.Key.Key_Plus)
    assert viewer.zoom() == pytest.approx(1.25)
    qtbot.keyClick(viewer, Qt.Key.Key_End)
    qtbot.keyClick(viewer, Qt.Key.Key_Right)  # stays on the last
    assert viewer.path() == old_fox
    qtbot.keyClick(viewer, Qt.Key.Key_Home)
    assert viewer.path() == lighthouse
    viewer.close()


def test_compare_two_images_with_a_slider_or_side_by_side(gallery, qtbot):
    window, paths = gallery
    panel = window.history_binding.panel
    select_rows(window, 0)
    assert panel.compare_selected() is None and "Select two images" in window.status.currentMessage()
    select_rows(window, 0, 3)
    compare = panel.compare_selected()
    qtbot.waitExposed(compare)
    picture = compare.picture
    qtbot.waitUntil(lambda: not any(image.isNull() for image in picture.images), timeout=TIMEOUT)
    first, second = (Image.open(paths[3]).getpixel((0, 0)), Image.open(paths[0]).getpixel((0, 0)))
    compare.slider.setValue(compare.slider.maximum() // 4)

    def colour_at(x_fraction):
        grab = picture.grab().toImage()
        return grab.pixelColor(int(grab.width() * x_fraction), grab.height() // 2).getRgb()[:3]

    close = lambda a, b: all(abs(x - y) < 12 for x, y in zip(a, b))  # noqa: E731
    assert close(colour_at(0.2), first) and close(colour_at(0.6), second)
    compare.slider.setValue(compare.slider.maximum())
    assert close(colour_at(0.6), first)
    compare.side_by_side.setChecked(True)
    assert close(colour_at(0.25), first) and close(colour_at(0.75), second)
    compare.close()


def test_drag_copy_use_as_input_restore_and_show_in_folder(gallery, qtbot):
    window, (old_fox, owl, inpaint, lighthouse) = gallery
    panel = window.history_binding.panel
    select_rows(window, 2)
    mime = panel.model.mimeData([panel.model.index(2)])
    assert [url.toLocalFile() for url in mime.urls()] == [str(owl)]  # what a drag offers the canvas or another app

    panel.copy_action.trigger()
    qtbot.waitUntil(lambda: (m := QGuiApplication.clipboard().mimeData()) is not None and m.hasFormat("image/png"),
                    timeout=TIMEOUT)
    assert bytes(QGuiApplication.clipboard().mimeData().data("image/png")) == owl.read_bytes()

    panel.restore_action.trigger()
    qtbot.waitUntil(lambda: window.prompts.prompt_edit.toPlainText() == "an owl at night", timeout=TIMEOUT)
    assert window.params.seed_spin.value() == 2

    panel.use_action.trigger()
    qtbot.waitUntil(lambda: window.canvas.image() is not None, timeout=TIMEOUT)
    assert window.canvas.image().size().toTuple() == (40, 24)

    opened, revealed = [], []
    panel.open_url, panel.reveal = opened.append, revealed.append
    panel.folder_action.trigger()
    assert revealed == [owl] and not opened  # the picture selected in the file manager
    panel.view.clearSelection()
    panel.folder_action.trigger()
    assert [url.toLocalFile() for url in opened] == [str(outputs_dir())]


def test_an_image_added_by_hand_without_a_recipe_is_listed_and_shown(gallery, qtbot):
    window, paths = gallery
    panel = window.history_binding.panel
    by_hand = outputs_dir() / "holiday.jpg"
    Image.new("RGB", (30, 20), (10, 200, 10)).save(by_hand)
    wait_listed(qtbot, window, 5)
    assert listed(window)[0] == "holiday.jpg"
    panel.select("holiday.jpg")
    qtbot.waitUntil(lambda: window.shown_result() is not None and window.shown_result().path == by_hand,
                    timeout=TIMEOUT)
    assert window.shown_result().recipe is None
    panel.restore_action.trigger()
    qtbot.waitUntil(lambda: "carries no prompt and settings" in window.message_bar.text(), timeout=TIMEOUT)


def test_a_new_output_keeps_the_galleries_scroll_position_and_selection(open_window, qtbot):
    made(*(recipe(f"picture {i}", seed=i) for i in range(60)))
    window = open_window(make_engine=FakeEngine)
    wait_listed(qtbot, window, 60)
    panel = window.history_binding.panel
    select_rows(window, 30, 31)
    bar = panel.view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=TIMEOUT)
    panel.view.scrollTo(panel.model.index(40))
    position = bar.value()
    chosen = panel.selected_names()
    (newest,) = made(recipe("the newest", seed=99), days_old=[-0.001])
    wait_listed(qtbot, window, 61)
    assert listed(window)[0] == newest.name
    assert panel.selected_names() == chosen and bar.value() == position
