"""The Engine menu: OpenVINO as a setting the engine follows, offered once on the CPU; without OpenVINO installed
the window starts, greys the choice out with how to install it, and generates with PyTorch. Draft decoding and int8
weights the same way."""

import sys

import pytest

from studio.core.backends import INT8_INSTALL, OPENVINO_INSTALL
from studio.core.metadata import read_recipe
from studio.core.paths import models_dir, outputs_dir
from studio.core.settings import Settings, load_settings, save_settings
from tests.tiny_models import save_tiny_taesd
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


def test_draft_decoding_in_the_menu_makes_drafts_that_say_so_and_is_kept(open_window, tiny_sd_dir, qtbot):
    save_tiny_taesd(models_dir() / "taesd")
    window = open_window(str(tiny_sd_dir))
    wait_ready(qtbot, window)
    action = window.backend_menu.draft_action
    assert action.isEnabled() and not action.isChecked() and str(models_dir() / "taesd") in action.toolTip()

    action.setChecked(True)
    qtbot.waitUntil(lambda: _engine(window).draft_decode)
    window.params.set_size(64, 64)
    window.params.steps_spin.setValue(2)
    window.generate_button.click()
    wait_idle(qtbot, window)

    (saved,) = outputs_dir().glob("*.png")
    assert read_recipe(saved).decoder == "TAESD"
    window.close()
    assert load_settings().settings.draft_decode


def test_without_nncf_int8_weights_are_greyed_out_with_what_to_install(open_window, tiny_sd_dir, qtbot, monkeypatch):
    monkeypatch.setitem(sys.modules, "nncf", None)  # as if it were not installed
    save_settings(Settings(backend="openvino", openvino_weights="int8"))  # chosen where NNCF was installed
    window = open_window(str(tiny_sd_dir))
    wait_ready(qtbot, window)
    action = window.backend_menu.int8_action

    assert not action.isEnabled() and not action.isChecked() and INT8_INSTALL in action.toolTip()
    qtbot.waitUntil(lambda: _engine(window).openvino_weights == "fp32")
    window.close()
    assert load_settings().settings.openvino_weights == "int8"  # kept, for when it is installed
