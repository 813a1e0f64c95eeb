"""The image prompt group in the real window: its settings into the request, a recipe restoring it, and a real
generation with a tiny IP-Adapter."""

import numpy as np
import pytest

from studio.core import control_store
from studio.core.image_prompt import ImagePrompt
from studio.core.metadata import read_recipe
from studio.core.recipe import Recipe
from tests.tiny_ipadapters import build_tiny_encoder, build_tiny_ipadapter
from tests.ui.canvas_work import noise_picture
from tests.ui.conftest import TIMEOUT, wait_idle
from tests.ui.fakes import FakeEngine


@pytest.fixture
def fake_window(open_window, qtbot):
    window = open_window(make_engine=FakeEngine)
    qtbot.waitExposed(window)
    return window


def _set_up(window, qtbot, picture, adapter="ip-adapter_sd15", scale=0.6):
    panel = window.image_prompt_panel
    panel.setChecked(True)
    panel.use_image_file(str(picture))
    qtbot.waitUntil(lambda: panel.image_prompt().image is not None, timeout=TIMEOUT)
    panel.adapter_combo.setCurrentText(adapter)
    panel.scale_spin.setValue(scale)
    return panel


def test_the_image_prompt_goes_into_the_request_and_comes_back_from_a_recipe(fake_window, qtbot, tmp_path):
    picture = noise_picture(tmp_path / "look.png", (40, 30))
    panel = _set_up(fake_window, qtbot, picture)
    prompt = panel.image_prompt()
    assert (prompt.adapter, prompt.scale, prompt.image.size) == ("ip-adapter_sd15", 0.6, (40, 30))
    panel.setChecked(False)
    assert panel.image_prompt() is None
    key = control_store.store(prompt.image)
    fake_window.apply_recipe(Recipe("a fox", "", 1, 20, 7, 64, 64, "Euler a", "model",
                                    image_prompt=ImagePrompt("plus-face", scale=0.3, image_key=key)))
    restored = panel.image_prompt()
    assert (restored.adapter, restored.scale) == ("plus-face", 0.3)
    assert np.array_equal(np.asarray(restored.image), np.asarray(prompt.image))


def test_generating_with_an_image_prompt_in_the_window(tiny_window, qtbot, tmp_path, tiny_sd_dir):
    build_tiny_encoder(tmp_path / "ip" / "image_encoder")
    adapter = build_tiny_ipadapter(tiny_sd_dir, tmp_path / "ip" / "ip-adapter_tiny.safetensors")
    window = tiny_window
    _set_up(window, qtbot, noise_picture(tmp_path / "look.png", (40, 40)), adapter=str(adapter), scale=0.7)
    with qtbot.waitSignal(window.session.results_changed, timeout=60_000):
        window.generate()
    wait_idle(qtbot, window)
    recipe = read_recipe(window.session.results[-1].path)
    assert (recipe.image_prompt.adapter, recipe.image_prompt.scale) == (str(adapter), 0.7)


def test_the_image_prompt_comes_back_after_a_restart_and_a_missing_image_is_one_sentence(fake_window, open_window,
                                                                                        qtbot, tmp_path):
    picture = noise_picture(tmp_path / "look.png", (40, 30))
    panel = _set_up(fake_window, qtbot, picture, adapter="plus-face", scale=0.45)
    image = np.asarray(panel.image_prompt().image)
    fake_window.close()  # the workspace is written on the way out

    again = open_window(make_engine=FakeEngine)
    qtbot.waitExposed(again)
    restored = again.image_prompt_panel.image_prompt()
    assert (restored.adapter, restored.scale) == ("plus-face", 0.45)
    assert np.array_equal(np.asarray(restored.image), image)
    again.image_prompt_panel.setChecked(False)
    again.close()

    third = open_window(make_engine=FakeEngine)
    qtbot.waitExposed(third)
    assert third.image_prompt_panel.image_prompt() is None  # off as it was left
    third.image_prompt_panel.setChecked(True)
    assert third.image_prompt_panel.image_prompt().image is not None
    third.close()

    for stored in control_store.store_dir().glob("*.png"):
        stored.unlink()  # a workspace from another computer, say
    fourth = open_window(make_engine=FakeEngine)
    qtbot.waitExposed(fourth)
    fourth.image_prompt_panel.setChecked(True)
    assert fourth.image_prompt_panel.image_prompt().image is None
    assert "not on this computer" in fourth.message_bar.text()
