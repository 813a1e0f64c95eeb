"""The session's History: indexed in its own thread, in step with the folder, stars, trash and undo."""

from __future__ import annotations

import threading

import pytest
from PIL import Image

from studio.core.favourites import load_favourites
from studio.core.history_index import HistoryFilter
from studio.core.outputs import save_image
from studio.core.paths import outputs_dir
from studio.session.history import History
from tests.test_history_index import recipe

TIMEOUT = 10_000


def names(history):
    return [entry.name for entry in history.entries]


@pytest.fixture
def trash_home(tmp_path, monkeypatch):
    """A freedesktop trash of the test's own (Qt puts files in $XDG_DATA_HOME/Trash)."""
    home = tmp_path / "xdg-data"
    home.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home / "Trash"


@pytest.fixture
def history(qtbot):
    made = []

    def make():
        history = History()
        made.append(history)
        return history

    yield make
    for history in made:
        history.close()


def save(prompt, seed=1):
    return save_image(Image.new("RGB", (16, 16), (seed * 40 % 255, 0, 0)), recipe(prompt, seed=seed))


def test_start_lists_the_folder_off_the_gui_thread_then_follows_it(history, qtbot, monkeypatch):
    import studio.core.history_index as module

    first = save("first")
    threads = []
    real = module.read_checked_recipe
    monkeypatch.setattr(module, "read_checked_recipe", lambda p: threads.append(threading.current_thread()) or real(p))
    h = history()
    with qtbot.waitSignal(h.entries_changed, timeout=TIMEOUT, check_params_cb=lambda e: len(e) == 1):
        h.start()
    assert threading.main_thread() not in threads
    qtbot.waitUntil(lambda: not h.scanning, timeout=TIMEOUT)
    with qtbot.waitSignal(h.entries_changed, timeout=TIMEOUT, check_params_cb=lambda e: len(e) == 2):
        second = save("second", seed=2)  # written by another program: the watcher sees it
    assert names(h) == [second.name, first.name]
    with qtbot.waitSignal(h.entries_changed, timeout=TIMEOUT, check_params_cb=lambda e: len(e) == 1):
        first.unlink()


def test_filters_answer_in_the_history_thread_and_stars_are_kept(history, qtbot):
    fox, owl = save("a red fox"), save("an owl", seed=2)
    h = history()
    h.start()
    qtbot.waitUntil(lambda: len(h.entries) == 2, timeout=TIMEOUT)
    with qtbot.waitSignal(h.entries_changed, timeout=TIMEOUT):
        h.set_filter(HistoryFilter(text="FOX"))
    assert names(h) == [fox.name]
    h.set_favourite([owl.name], True)
    assert h.favourites == {owl.name}
    with qtbot.waitSignal(h.entries_changed, timeout=TIMEOUT):
        h.set_filter(HistoryFilter(favourites_only=True))
    assert names(h) == [owl.name]
    qtbot.waitUntil(lambda: load_favourites() == {owl.name}, timeout=TIMEOUT)  # written in the history thread
    assert History().favourites == {owl.name}


def test_trash_moves_files_to_the_system_trash_and_undo_brings_them_back(history, qtbot, trash_home):
    keep, gone = save("keep"), save("gone", seed=2)
    data = gone.read_bytes()
    h = history()
    h.start()
    qtbot.waitUntil(lambda: len(h.entries) == 2, timeout=TIMEOUT)
    with qtbot.waitSignal(h.trashed, timeout=TIMEOUT) as moved:
        h.trash([gone.name])
    assert moved.args == [1]
    assert not gone.exists() and (trash_home / "files" / gone.name).read_bytes() == data
    assert (trash_home / "info" / f"{gone.name}.trashinfo").is_file()
    qtbot.waitUntil(lambda: names(h) == [keep.name], timeout=TIMEOUT)
    h.undo_trash()
    qtbot.waitUntil(lambda: names(h) == [gone.name, keep.name], timeout=TIMEOUT)
    assert gone.read_bytes() == data and not any((trash_home / "files").iterdir())
    assert not any((trash_home / "info").iterdir())
    assert not h.can_undo_trash()


def test_without_a_trash_nothing_is_deleted_and_one_sentence_says_so(history, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "no" / "such" / "folder"))  # Qt will not make a trash there
    path = save("stays")
    h = history()
    with qtbot.waitSignal(h.error, timeout=TIMEOUT) as said:
        h.trash([path.name])
    assert path.is_file() and not h.can_undo_trash()
    assert said.args[0] == ("1 image could not be moved to the system trash, so nothing was deleted there "
                            "(the log says why).")


def test_undo_never_replaces_a_file_that_took_the_name(history, qtbot, trash_home):
    path = save("first")
    h = history()
    h.trash([path.name])
    newer = save("newer")  # the next save takes the free number
    assert newer == path
    with qtbot.waitSignal(h.error, timeout=TIMEOUT):
        h.undo_trash()
    assert (trash_home / "files" / path.name).is_file()
    assert outputs_dir() / path.name == newer and newer.is_file()
