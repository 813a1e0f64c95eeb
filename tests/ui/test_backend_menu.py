"""The Engine menu: OpenVINO as a setting the engine follows, offered once on the CPU; without OpenVINO installed
the window starts, greys the choice out with how to install it, and generates with PyTorch."""

import sys

import pytest

from studio.core.backends import OPENVINO_INSTALL
from studio.core.paths import outputs_dir
from studio.core.settings import Settings, load_settings, save_settings
from tests.ui.conftest import wait_idle, wait_ready


def _engine(window):
    return window.session._engine.worker._engine


def test_without_openvino_the_window_starts_and_generates_with_pytorch(open_window, tiny_sd_dir, qtbot,
                                                                        monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if it were not installed
    save_settings(Settings(backend="openvino"))  # chosen earlier, on a machine (or venv) that had it
    window = open_window(str(tiny_sd_dir))
    wait_ready(qtbot, window)
    action = window.backend_menu.openvino_action

    assert not action.isEnabled() and not action.isChecked() and OPENVINO_INSTALL in action.toolTip()
    assert OPENVINO_INSTALL in window.status.currentMessage()  # the offer says how to get it
    window.params.set_size(64, 64)
    window.params.steps_spin.setValue(2)
    window.generate_button.click()
    wait_idle(qtbot, window)
    assert len(list(outputs_dir().glob("*.png"))) == 1 and not window.message_bar.isVisible()
    assert _engine(window).backend == "torch"


def test_choosing_openvino_in_the_menu_is_the_engines_backend_and_is_kept(open_window, tiny_sd_dir, qtbot):
    pytest.importorskip("openvino", reason="OpenVINO is an optional extra")
    window = open_window(str(tiny_sd_dir))
    wait_ready(qtbot, window)
    action = window.backend_menu.openvino_action
    assert action.isEnabled() and not action.isChecked()
    assert "OpenVINO" in window.status.currentMessage()  # offered once: the model runs on the CPU

    action.setChecked(True)

    qtbot.waitUntil(lambda: _engine(window).backend == "openvino")
    window.close()
    assert load_settings().settings.backend == "openvino" and load_settings().settings.openvino_offered
