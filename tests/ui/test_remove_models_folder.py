"""Removing an added models folder from the Models menu (scripted engine): its models are no longer listed, no
file is touched, and the choice survives a restart."""

from __future__ import annotations

from studio.core.model_folders import ModelKind
from studio.core.settings import load_settings
from tests.model_files import kohya_lora_shapes, write_safetensors
from tests.ui.conftest import TIMEOUT, wait_ready
from tests.ui.fakes import FakeEngine


def _window(open_window, tmp_path, qtbot):
    folder = tmp_path / "fake-model"
    folder.mkdir(exist_ok=True)
    window = open_window(str(folder), make_engine=FakeEngine)
    wait_ready(qtbot, window)
    return window


def _add(window, qtbot, path, count: int) -> None:
    window.library_binding.ask_folder = lambda: str(path)
    with qtbot.waitSignal(window.library.entries_changed, timeout=TIMEOUT,
                          check_params_cb=lambda entries: len(entries) == count):
        window.library_binding.add_folder_action.trigger()


def test_removing_a_folder_stops_listing_its_models_keeps_its_files_and_persists(open_window, tmp_path, qtbot):
    comfy, mixed = tmp_path / "ComfyUI" / "models", tmp_path / "downloads"
    hero = write_safetensors(comfy / "loras" / "hero.safetensors", kohya_lora_shapes(768))
    (comfy / "checkpoints").mkdir()
    write_safetensors(mixed / "villain.safetensors", kohya_lora_shapes(768))
    window = _window(open_window, tmp_path, qtbot)
    menu = window.library_binding.remove_folder_menu
    assert [a.text() for a in menu.actions()] == ["No folders added"]
    assert not menu.actions()[0].isEnabled()
    _add(window, qtbot, comfy, 1)
    _add(window, qtbot, mixed, 2)

    menu.fill()  # what opening the menu does
    assert [a.text() for a in menu.actions()] == [str(comfy), str(mixed)]
    with qtbot.waitSignal(window.library.entries_changed, timeout=TIMEOUT,
                          check_params_cb=lambda entries: len(entries) == 1):
        menu.actions()[0].trigger()
    assert window.library.find(ModelKind.LORA, "hero") is None
    assert window.library.find(ModelKind.LORA, "villain") is not None
    assert hero.is_file() and (comfy / "checkpoints").is_dir()  # nothing deleted
    assert load_settings().settings.model_folders == [str(mixed)]
    assert "its files are untouched" in window.status.currentMessage()
    assert [a.text() for a in menu.actions()] == [str(mixed)]
    window.close()

    again = _window(open_window, tmp_path, qtbot)  # a restart reads the folders from the settings
    qtbot.waitUntil(lambda: len(again.library.entries) == 1, timeout=TIMEOUT)
    assert again.library.find(ModelKind.LORA, "villain") is not None
    assert [a.text() for a in again.library_binding.remove_folder_menu.actions()] == [str(mixed)]
