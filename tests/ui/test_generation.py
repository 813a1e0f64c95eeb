"""The real window on the real engine (tiny random-weight models): generate, cancel, close, failed loads."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from studio.core.metadata import read_recipe
from studio.core.paths import outputs_dir
from studio.core.request import GenerationRequest
from studio.engine.engine import Engine
from tests.paint_counter import PaintCounter
from tests.ui.conftest import TIMEOUT, wait_idle, wait_ready

SIZE = 64


@pytest.fixture
def window(tiny_window):
    return tiny_window


def set_params(window, *, seed, steps, cfg):
    p = window.params
    p.random_seed_check.setChecked(False)
    p.seed_spin.setValue(seed)
    p.steps_spin.setValue(steps)
    p.cfg_spin.setValue(cfg)


def test_ctrl_enter_generates_with_a_painted_preview_per_step_and_saves_the_engines_pixels(window, tiny_sd_dir, qtbot):
    qtbot.keyClicks(window.prompts.prompt_edit, "a red bicycle")
    set_params(window, seed=1234, steps=4, cfg=6.5)
    painted_after = []  # for each preview: paint events the canvas had received when the next one (or the end) came
    paints = PaintCounter(window.canvas)
    window.session.preview.connect(lambda image: painted_after.append((paints.count, image.size().toTuple())))
    qtbot.keyClick(window.prompts.prompt_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    final_paints = paints.count

    assert window.session.progress.total == 4  # the user's steps
    assert len(painted_after) >= 4  # PNDM fires once per timestep (one more than the steps)
    counts = [count for count, _ in painted_after] + [final_paints]
    assert all(later > earlier for earlier, later in zip(counts, counts[1:])), counts  # each preview was painted
    assert painted_after[0][1] == (SIZE // 8, SIZE // 8)  # the cheap latent preview, scaled up by the canvas

    [saved] = sorted(outputs_dir().glob("*.png"))
    recipe = read_recipe(saved)
    assert (recipe.prompt, recipe.seed, recipe.steps, recipe.cfg_scale) == ("a red bicycle", 1234, 4, 6.5)
    assert saved.name in window.status.saved_label.text()

    engine = Engine(previews="off")
    engine.load(str(tiny_sd_dir))
    expected = engine.generate(GenerationRequest("a red bicycle", seed=1234, steps=4, cfg_scale=6.5, width=SIZE, height=SIZE))
    assert np.array_equal(np.asarray(Image.open(saved).convert("RGB")), np.asarray(expected.images[0]))


def test_cancel_on_the_first_step_writes_nothing_and_the_next_run_works(window, qtbot):
    set_params(window, seed=5, steps=200, cfg=7.0)
    window.session.preview.connect(lambda _: window.cancel_button.click())
    with qtbot.waitSignal(window.session.cancelled, timeout=TIMEOUT):
        window.generate()
    wait_idle(qtbot, window)
    assert list(outputs_dir().glob("*.png")) == []
    assert window.generate_button.isEnabled() and not window.cancel_button.isEnabled()
    assert window.session.progress is None or window.session.progress.step < 10

    window.session.preview.disconnect()
    window.params.steps_spin.setValue(3)
    window.generate()
    wait_idle(qtbot, window)
    assert len(list(outputs_dir().glob("*.png"))) == 1


def test_closing_during_a_run_cancels_it_and_stops_the_thread(window, qtbot):
    set_params(window, seed=5, steps=500, cfg=7.0)
    window.generate()
    qtbot.waitUntil(lambda: window.session.progress is not None, timeout=TIMEOUT)
    thread = window.session._engine._thread
    window.close()
    assert not thread.isRunning()
    assert list(outputs_dir().glob("*.png")) == []


def test_a_failing_model_load_shows_a_message_and_the_app_keeps_working(open_window, tiny_sd_dir, tmp_path, qtbot):
    broken = tmp_path / "half-copied-model"
    broken.mkdir()
    (broken / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"]}')
    window = open_window(str(broken))
    qtbot.waitUntil(lambda: window.message_bar.isVisible(), timeout=TIMEOUT)
    assert "half-copied-model" in window.message_bar.text()
    assert not window.generate_button.isEnabled()

    window.model_picker.ask_folder = lambda: str(tiny_sd_dir)
    window.model_picker.activated.emit(window.model_picker.findText("Open model folder..."))
    wait_ready(qtbot, window)
    window.params.set_size(SIZE, SIZE)
    window.params.steps_spin.setValue(2)
    window.generate()
    wait_idle(qtbot, window)
    assert len(list(outputs_dir().glob("*.png"))) == 1
