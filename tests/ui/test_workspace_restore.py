"""The canvas, its mask, the view and the prompt survive a restart and a crash; a damaged workspace restores
what it can, says so, and deletes nothing."""

import json

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from studio.core.paths import studio_home
from studio.session import workspace as keeping
from tests.ui.canvas_work import array, drop_file, noise_picture, paint
from tests.ui.conftest import TIMEOUT
from tests.ui.fakes import FakeEngine


@pytest.fixture
def new_window(open_window, qtbot):
    def new():
        window = open_window(make_engine=FakeEngine)
        qtbot.waitExposed(window)
        return window

    return new


def work_on(qtbot, window, picture) -> None:
    drop_file(qtbot, window.canvas, picture)
    paint(qtbot, window.canvas, (30, 20), (60, 40), size=9)
    qtbot.keyClicks(window.prompts.prompt_edit, "a heron in the reeds")
    qtbot.keyClicks(window.prompts.negative_edit, "text")
    window.canvas.set_zoom(2.0, QPointF(10, 10))


def assert_restored(window, before) -> None:
    image, mask, view = before
    assert np.array_equal(array(window.canvas.image()), image)
    assert np.array_equal(array(window.canvas.mask()), mask)
    assert window.prompts.prompt() == "a heron in the reeds" and window.prompts.negative_prompt() == "text"
    state = window.canvas.view_state()
    assert not state["fitted"] and state["zoom"] == pytest.approx(view["zoom"])
    assert state["centre"] == pytest.approx(view["centre"], abs=0.5)
    assert not window.canvas.undo_stack().canUndo()  # a fresh start, not an undoable change


def snapshot(window):
    return array(window.canvas.image()), array(window.canvas.mask()), window.canvas.view_state()


def test_the_canvas_and_prompt_come_back_after_a_restart(new_window, qtbot, tmp_path):
    first = new_window()
    work_on(qtbot, first, noise_picture(tmp_path / "photo.png", (120, 80)))
    before = snapshot(first)
    first.close()  # writes at once, without waiting for the pause
    assert_restored(new_window(), before)


def test_they_come_back_after_a_crash_once_the_autosave_has_run(new_window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(keeping, "DELAY_MS", 50)
    first = new_window()
    work_on(qtbot, first, noise_picture(tmp_path / "photo.png", (120, 80)))
    before = snapshot(first)
    state_file = studio_home() / "workspace" / "state.json"
    qtbot.waitUntil(lambda: state_file.exists() and "heron" in state_file.read_text(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: json.loads(state_file.read_text())["data"]["view"]["zoom"] == 2.0, timeout=TIMEOUT)
    # The first window is never closed: as after a crash, only what the autosave wrote is there.
    assert_restored(new_window(), before)


@pytest.mark.parametrize("damage", ["state", "image", "mask"])
def test_a_damaged_workspace_restores_what_it_can_says_so_and_deletes_nothing(new_window, qtbot, tmp_path, damage):
    first = new_window()
    work_on(qtbot, first, noise_picture(tmp_path / "photo.png", (120, 80)))
    image = array(first.canvas.image())
    first.close()
    folder = studio_home() / "workspace"
    if damage == "state":
        (folder / "state.json").write_text("{ not json")
    else:
        next(folder.glob(f"{damage}-*.png")).write_bytes(b"\x89PNG\r\n\x1a\n broken")
    files = {path.name: path.read_bytes() for path in folder.iterdir() if path.name != "state.json"}

    second = new_window()
    notice = second.message_bar.text()
    assert second.message_bar.isVisible()
    if damage == "state":
        assert np.array_equal(array(second.canvas.image()), image) and second.canvas.mask() is None
        assert second.prompts.prompt() == "a heron in the reeds"  # from the settings
        assert notice.startswith("The saved workspace was damaged and was set aside as state.damaged-")
    elif damage == "image":
        assert second.canvas.image() is None and second.canvas.mask() is None
        assert notice.startswith("The saved canvas image and mask could not be restored")
    else:
        assert np.array_equal(array(second.canvas.image()), image) and second.canvas.mask() is None
        assert notice.startswith("The saved mask could not be restored")
    paint(qtbot, second.canvas, (5, 5))  # and it works as usual
    second.close()
    assert all((folder / name).read_bytes() == data for name, data in files.items())  # every file is still there
