"""Upscaling the canvas through the real window with a tiny random-weight upscaler model (needs spandrel:
run by ``make test-upscalers``): off the GUI thread, progress per tile, cancel, undo."""

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from studio.core.paths import models_dir
from tests.ui.canvas_work import array, drop_file, noise_picture
from tests.ui.conftest import TIMEOUT, wait_idle

pytest.importorskip("spandrel", reason="spandrel (the 'upscalers' extra) is not installed here")
from safetensors.torch import save_file  # noqa: E402
from spandrel.architectures.Compact import Compact  # noqa: E402


@pytest.fixture
def upscaler():
    torch.manual_seed(0)
    folder = models_dir() / "upscalers"
    folder.mkdir(parents=True, exist_ok=True)
    net = Compact(num_feat=8, num_conv=2, upscale=2)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, folder / "2x-tiny.safetensors")
    return "2x-tiny"


def _start(window, name):
    button = window.image_panel.upscale_button
    button.refresh()
    button.model_combo.setCurrentText(name)
    button.apply_button.click()


def test_the_canvas_image_is_upscaled_in_tiles_and_ctrl_z_brings_it_back(open_window, qtbot, tmp_path, upscaler):
    window = open_window()
    drop_file(qtbot, window.canvas, noise_picture(tmp_path / "photo.png", (700, 300)))
    before = array(window.canvas.image())
    tiles = []
    window.session.progress_changed.connect(lambda p: p is not None and tiles.append((p.step, p.total)))
    with qtbot.waitSignal(window.session.upscaled, timeout=TIMEOUT):
        _start(window, upscaler)
    wait_idle(qtbot, window)
    assert window.canvas.image().size().toTuple() == (1400, 600)
    assert tiles == [(1, 2), (2, 2)]  # 700 pixels wide: two 512-pixel tiles
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(array(window.canvas.image()), before)


def test_cancel_between_tiles_keeps_the_canvas(open_window, qtbot, tmp_path, upscaler):
    window = open_window()
    drop_file(qtbot, window.canvas, noise_picture(tmp_path / "photo.png", (1200, 900)))
    window.session.progress_changed.connect(lambda p: p is not None and window.session.cancel())
    with qtbot.waitSignal(window.session.cancelled, timeout=TIMEOUT):
        _start(window, upscaler)
    wait_idle(qtbot, window)
    assert window.canvas.image().size().toTuple() == (1200, 900)
