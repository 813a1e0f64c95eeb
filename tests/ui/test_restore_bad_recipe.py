"""Restoring a crafted recipe (tests/bad_inputs.py) in the real window: unusable values are left out and named,
values beyond the controls are changed and named, nothing raises; a loaded all-black mask is said."""

import json

from PySide6.QtCore import Qt

from studio.core.request import MAX_SEED
from tests import bad_inputs
from tests.ui.canvas_work import drop_file, noise_picture
from tests.ui.conftest import TIMEOUT
from tests.ui.test_window_canvas import engine, window  # noqa: F401 - fixtures


def _restore(qtbot, window, path):  # noqa: F811
    drop_file(qtbot, window.canvas, path)
    bar = window.message_bar
    qtbot.waitUntil(lambda: bar.action_button.isVisible(), timeout=TIMEOUT)
    qtbot.mouseClick(bar.action_button, Qt.MouseButton.LeftButton)
    return bar


def test_wrong_values_are_left_out_and_out_of_range_ones_are_named(window, qtbot, tmp_path):  # noqa: F811
    chunk = json.loads(bad_inputs.recipe_json_with("cfg_scale", '"abc"'))
    chunk.update(steps=10**12, width=9000, seed=2**40, prompt="a harbour at night", mode="txt2img",
                 sampler="Warp 9", scheduler="warp9")
    path = bad_inputs.png_with_text(tmp_path / "crafted.png", {"latent-studio": json.dumps(chunk)})
    window.params.cfg_spin.setValue(4.5)
    bar = _restore(qtbot, window, path)

    p = window.params
    assert window.prompts.prompt() == "a harbour at night"  # the rest of the recipe is applied
    assert p.cfg_spin.value() == 7.0  # the default for the unusable value, never "abc"
    assert p.steps_spin.value() == p.steps_spin.maximum() and p.width_spin.value() == p.width_spin.maximum()
    assert p.height_spin.value() == 768
    text = bar.text()
    assert bar.isVisible() and text.startswith("Restored the prompt and settings, but unusable values")
    assert "(CFG scale)" in text
    assert f"Steps {10**12} (set to {p.steps_spin.maximum()})" in text and "Width 9000 (set to 4096)" in text
    assert f"Seed {2**40} (beyond {MAX_SEED}: a random seed is used)" in text
    assert "Sampler 'warp9' (not available" in text and p.scheduler_combo.currentIndex() == 0


def test_a_clean_recipe_says_nothing_more(window, qtbot, tmp_path):  # noqa: F811
    path = bad_inputs.png_with_text(tmp_path / "clean.png", {"latent-studio": bad_inputs.recipe_json()})
    bar = _restore(qtbot, window, path)
    assert not bar.isVisible() and window.params.steps_spin.value() == 25


def test_a_recipe_with_an_oversized_chunk_offers_nothing(window, qtbot, tmp_path):  # noqa: F811
    path = bad_inputs.png_with_text(tmp_path / "huge.png", {"parameters": bad_inputs.slow_parameters(1_000_000)})
    drop_file(qtbot, window.canvas, path)
    qtbot.wait(300)
    assert not window.message_bar.isVisible() and window.canvas.image() is not None


def test_an_all_black_mask_is_said_when_loaded(window, qtbot, tmp_path):  # noqa: F811
    picture = noise_picture(tmp_path / "photo.png", (96, 64))
    drop_file(qtbot, window.canvas, picture)
    qtbot.waitUntil(lambda: window.canvas.image() is not None, timeout=TIMEOUT)
    window.menus.ask_load_mask = lambda: str(bad_inputs.all_black_mask(tmp_path / "black.png", (96, 64)))
    window.menus.load_mask_action.trigger()
    assert window.canvas.mask() is None
    expected = "black.png is all black: it marks nothing to repaint, so this is not inpainting."
    assert window.message_bar.text() == expected


def test_metadata_is_read_off_the_gui_and_saving_threads(window, qtbot, tmp_path, monkeypatch):  # noqa: F811
    import threading

    from studio.core import metadata
    from studio.session import session as session_module

    threads = []

    def read_and_note(path):  # the real reader, noting the thread it runs in
        threads.append(threading.current_thread())
        return metadata.read_checked_recipe(path)

    monkeypatch.setattr(session_module, "read_checked_recipe", read_and_note)
    path = bad_inputs.png_with_text(tmp_path / "ok.png", {"latent-studio": bad_inputs.recipe_json()})
    _restore(qtbot, window, path)
    assert window.prompts.prompt() == bad_inputs.GOOD.prompt
    (thread,) = threads
    assert thread is not threading.main_thread() and not thread.name.startswith("save")
