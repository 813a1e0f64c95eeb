"""Control layers in the real window: settings into the request, scribbles drawn on their own layer, the control
map overlay, restart, and a real generation with a tiny ControlNet."""

import numpy as np
import pytest
from PIL import Image

from studio.core import control_store
from studio.core.metadata import read_recipe
from studio.core.preprocessors import builtin_map, fit
from tests.tiny_controlnets import build_tiny_controlnet
from tests.ui.canvas_work import array, drop_file, noise_picture, paint
from tests.ui.conftest import TIMEOUT, wait_idle
from tests.ui.fakes import FakeEngine


@pytest.fixture
def fake_window(open_window, qtbot):
    def new():
        window = open_window(make_engine=FakeEngine)
        qtbot.waitExposed(window)
        return window

    return new


def _set_up_layer(window, source="canvas", preprocessor="canny", model="my-canny"):
    panel = window.control_panel
    panel.add_button.click()
    panel.source_combo.setCurrentIndex(panel.source_combo.findData(source))
    panel.model_combo.setCurrentText(model)
    panel.preprocessor_combo.setCurrentText(preprocessor)
    panel.weight_spin.setValue(0.65)
    panel.end_spin.setValue(0.8)
    return panel


def test_a_control_layer_goes_into_the_request(fake_window, qtbot, tmp_path):
    window = fake_window()
    drop_file(qtbot, window.canvas, noise_picture(tmp_path / "photo.png", (64, 64)))
    _set_up_layer(window)
    (control,) = window.control_panel.control_inputs()
    assert (control.model, control.preprocessor, control.weight, control.end) == ("my-canny", "canny", 0.65, 0.8)
    assert np.array_equal(np.asarray(control.image), array(window.canvas.image()))  # the canvas source
    window.control_panel.remove_button.click()
    assert window.control_panel.control_inputs() == ()


def test_the_control_map_is_shown_over_the_canvas_on_request(fake_window, qtbot, tmp_path):
    window = fake_window()
    square = np.zeros((64, 64, 3), np.uint8)
    square[16:48, 16:48] = 255
    Image.fromarray(square).save(tmp_path / "square.png")
    drop_file(qtbot, window.canvas, str(tmp_path / "square.png"))
    panel = _set_up_layer(window)
    assert window.canvas.control_map() is None
    panel.map_check.setChecked(True)
    qtbot.waitUntil(lambda: window.canvas.control_map() is not None, timeout=TIMEOUT)
    edges = array(window.canvas.control_map())
    (control,) = panel.control_inputs()
    assert np.array_equal(edges, np.asarray(fit(builtin_map(control.image, control), (64, 64), control.resize_mode)))
    assert edges[32, 32].max() == 0 and edges[16:48, 14:18].max() > 20  # edges (thin at 512, scaled down) on black
    panel.map_check.setChecked(False)
    assert window.canvas.control_map() is None
    panel.map_check.setChecked(True)  # made once: the cached map comes back at once
    assert window.canvas.control_map() is not None


def test_a_scribble_is_drawn_on_its_own_layer_and_kept(fake_window, qtbot, tmp_path):
    window = fake_window()
    drop_file(qtbot, window.canvas, noise_picture(tmp_path / "photo.png", (64, 64)))
    panel = _set_up_layer(window, source="scribble", preprocessor="scribble")
    assert window.canvas.paint_target == "scribble"
    paint(qtbot, window.canvas, (10, 10), (50, 10), size=5)
    qtbot.waitUntil(lambda: panel.layers()[0].image_key != "", timeout=TIMEOUT)
    assert window.canvas.mask() is None  # the brush drew the scribble, not the mask
    (control,) = panel.control_inputs()
    lines = np.asarray(control.image.getchannel("A"))
    assert lines[10, 30] == 255 and lines[40, 30] == 0
    panel.source_combo.setCurrentIndex(panel.source_combo.findData("canvas"))
    assert window.canvas.paint_target == "mask"


def test_control_layers_survive_a_restart(fake_window, qtbot, tmp_path):
    first = fake_window()
    drop_file(qtbot, first.canvas, noise_picture(tmp_path / "photo.png", (64, 64)))
    panel = _set_up_layer(first, source="scribble", preprocessor="scribble")
    paint(qtbot, first.canvas, (10, 10), (50, 10), size=5)
    qtbot.waitUntil(lambda: panel.layers()[0].image_key != "", timeout=TIMEOUT)
    _set_up_layer(first, model="other", preprocessor="none")
    before = panel.layers()
    first.close()
    second = fake_window()
    assert second.control_panel.layers() == before
    assert second.control_panel.layer_list.count() == 2
    restored = second.control_panel.control_inputs()[0].image
    assert np.array_equal(np.asarray(restored), np.asarray(control_store.load(before[0].image_key)))


def test_generating_with_a_control_layer_in_the_window(tiny_window, qtbot, tmp_path, tiny_sd_dir):
    controlnet = build_tiny_controlnet(tiny_sd_dir, tmp_path / "cn")
    window = tiny_window
    drop_file(qtbot, window.canvas, noise_picture(tmp_path / "photo.png", (64, 64)))
    _set_up_layer(window, model=str(controlnet), preprocessor="canny")
    with qtbot.waitSignal(window.session.results_changed, timeout=60_000):
        window.generate()
    wait_idle(qtbot, window)
    result = window.session.results[-1]
    recipe = read_recipe(result.path)
    assert [(u.preprocessor, u.weight, u.end) for u in recipe.control] == [("canny", 0.65, 0.8)]
    assert 'ControlNet 0: "Module: canny' in open(result.path, "rb").read().decode("latin-1")


def test_a_restored_recipe_brings_its_control_layers(fake_window, qtbot):
    from studio.core.control import ControlInput
    from studio.core.recipe import Recipe

    window = fake_window()
    _set_up_layer(window, model="mine")
    window.apply_recipe(Recipe("a fox", "", 1, 20, 7, 64, 64, "Euler a", "model"))
    assert [layer.settings.model for layer in window.control_panel.layers()] == ["mine"]  # kept
    unit = ControlInput("depth-xl", preprocessor="depth_midas", weight=0.5)
    window.apply_recipe(Recipe("a fox", "", 1, 20, 7, 64, 64, "Euler a", "model", control=(unit,)))
    (layer,) = window.control_panel.layers()
    assert layer.settings == unit and layer.source == "canvas"
    assert window.control_panel.weight_spin.value() == 0.5


def test_the_preprocessor_resolution_is_a_layer_setting(fake_window, qtbot, tmp_path):
    from studio.core.control import ControlInput
    from studio.core.recipe import Recipe

    window = fake_window()
    drop_file(qtbot, window.canvas, noise_picture(tmp_path / "photo.png", (64, 64)))
    panel = _set_up_layer(window)
    panel.resolution_spin.setValue(256)
    assert [c.processor_res for c in panel.control_inputs()] == [256]
    unit = ControlInput("canny-sd", preprocessor="canny", processor_res=768)
    window.apply_recipe(Recipe("a fox", "", 1, 20, 7, 64, 64, "Euler a", "model", control=(unit,)))
    assert panel.resolution_spin.value() == 768 and panel.control_inputs()[0].processor_res == 768
