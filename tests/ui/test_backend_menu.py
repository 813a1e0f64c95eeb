"""The Engine menu: OpenVINO as a setting the engine follows, offered once on the CPU; without OpenVINO installed
the window starts and generates with PyTorch, and the item is "Install OpenVINO…": progress, cancel, a failure in
one sentence, then the item is the checkable choice and the dialog offers to switch, with no restart. Draft decoding
and int8 weights are kept as settings and recorded in the pictures. The OpenVINO cache limit's dialog shows the
limit and the cache folder's size, and OK keeps it and gives it to the engine, Cancel changes nothing."""

import sys

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QLabel

from studio.core.backends import INT8_INSTALL
from studio.core.errors import StudioError
from studio.core.metadata import read_recipe
from studio.core.paths import models_dir, openvino_cache_dir, outputs_dir
from studio.core.settings import Settings, load_settings, save_settings, settings_path
from studio.setup.installer import DOWNLOADING, Progress
from studio.ui.backend_menu import INSTALL_TEXT, RUN_TEXT
from studio.ui.openvino_cache_dialog import NO_LIMIT, OpenVinoCacheDialog
from tests.tiny_models import save_tiny_taesd
from tests.ui.conftest import TIMEOUT, wait_idle, wait_ready
from tests.ui.scripted_install import WAIT_FOR_CANCEL, ScriptedInstall


def _engine(window):
    return window.session._engine.worker._engine


def _generate(qtbot, window, timeout=120_000):  # generous: 8 test runs may share this machine's 2 cores
    window.params.set_size(64, 64)
    window.params.steps_spin.setValue(2)
    before = len(list(outputs_dir().glob("*.png")))
    window.generate_button.click()
    qtbot.waitUntil(lambda: not window.session.busy, timeout=timeout)
    assert len(list(outputs_dir().glob("*.png"))) == before + 1


def test_without_openvino_the_window_starts_and_generates_with_pytorch(open_window, tiny_sd_dir, qtbot,
                                                                        monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if it were not installed
    save_settings(Settings(backend="openvino"))  # chosen earlier, on a machine (or venv) that had it
    window = open_window(str(tiny_sd_dir))
    wait_ready(qtbot, window)
    action = window.backend_menu.openvino_action

    assert action.isEnabled() and not action.isCheckable() and action.text() == INSTALL_TEXT
    assert "Engine > Install OpenVINO…, about 60 MB" in window.status.currentMessage()  # the offer says how
    assert not window.backend_menu.fast_action.isEnabled()
    _generate(qtbot, window)
    assert not window.message_bar.isVisible() and _engine(window).backend == "torch"


def test_install_openvino_from_the_menu_then_run_with_it_without_a_restart(open_window, tiny_sd_dir, qtbot,
                                                                            monkeypatch):
    openvino = pytest.importorskip("openvino", reason="the run after the install uses this environment's OpenVINO")
    monkeypatch.setitem(sys.modules, "openvino", None)  # not installed, until the scripted install "installs" it

    def installs():
        sys.modules["openvino"] = openvino  # the package appears, as after uv linked it
        return "2026.4.1"

    offline = StudioError("OpenVINO could not be downloaded: pypi.org cannot be reached (check the network "
                          "connection or the proxy settings); nothing was changed, so it can simply be tried again.")
    install = ScriptedInstall(Progress(DOWNLOADING, 20, 185, 10.0, 17, what="OpenVINO"), WAIT_FOR_CANCEL, offline,
                              installs)
    window = open_window(str(tiny_sd_dir))
    wait_ready(qtbot, window)
    menu = window.backend_menu
    menu.install = install
    menu.openvino_action.trigger()
    dialog = menu.dialog
    assert dialog.isVisible() and dialog.pages.currentIndex() == 0
    assert "about 60 MB to download from PyPI" in dialog.findChild(QLabel, "openvinoIntro").text()

    dialog.install_button.click()  # 1: cancelled while downloading
    qtbot.waitUntil(lambda: "20 of about 185 MB" in dialog.running.label.text(), timeout=TIMEOUT)
    assert dialog.running.label.text().startswith("Downloading and unpacking OpenVINO:")
    dialog.running.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == 2, timeout=TIMEOUT)
    assert dialog.result_label.text().startswith("Cancelled: nothing was changed")
    assert dialog.retry_button.isVisible() and not dialog.switch_button.isVisible()
    assert menu.openvino_action.text() == INSTALL_TEXT

    dialog.retry_button.click()  # 2: no network
    qtbot.waitUntil(lambda: dialog.result_label.text() == str(offline), timeout=TIMEOUT)
    assert not menu.openvino_action.isCheckable()

    dialog.retry_button.click()  # 3: installed
    qtbot.waitUntil(lambda: dialog.switch_button.isVisible(), timeout=TIMEOUT)
    assert dialog.result_label.text().startswith("OpenVINO 2026.4.1 is installed and works. Run with it now?")
    action = menu.openvino_action
    assert action.isCheckable() and not action.isChecked() and action.text() == RUN_TEXT
    assert len(install.calls) == 3

    dialog.switch_button.click()
    assert action.isChecked() and not dialog.isVisible()
    qtbot.waitUntil(lambda: _engine(window).backend == "openvino", timeout=TIMEOUT)
    notices = []
    window.session.notice.connect(notices.append)
    # Converted and run by OpenVINO in this process, which had not found it at start (converting takes a while).
    _generate(qtbot, window, timeout=300_000)
    assert _engine(window)._openvino.conversions >= 1 and not any("not installed" in n for n in notices), notices
    window.close()
    assert load_settings().settings.backend == "openvino"


def test_choosing_openvino_in_the_menu_is_the_engines_backend_and_is_kept(open_window, tiny_sd_dir, qtbot):
    pytest.importorskip("openvino", reason="OpenVINO is an optional extra")
    window = open_window(str(tiny_sd_dir))
    wait_ready(qtbot, window)
    action = window.backend_menu.openvino_action
    assert action.isEnabled() and action.isCheckable() and not action.isChecked() and action.text() == RUN_TEXT
    assert "OpenVINO" in window.status.currentMessage()  # offered once: the model runs on the CPU

    action.setChecked(True)

    qtbot.waitUntil(lambda: _engine(window).backend == "openvino", timeout=TIMEOUT)
    window.close()
    assert load_settings().settings.backend == "openvino" and load_settings().settings.openvino_offered


def test_fast_precision_in_the_menu_is_the_engines_and_is_kept(open_window, tiny_sd_dir, qtbot):
    pytest.importorskip("openvino", reason="OpenVINO is an optional extra")
    save_settings(Settings(backend="openvino"))
    window = open_window(str(tiny_sd_dir))
    wait_ready(qtbot, window)
    action = window.backend_menu.fast_action
    assert action.isEnabled() and not action.isChecked() and "bf16" in action.toolTip()
    assert _engine(window).openvino_precision == "fp32"

    action.setChecked(True)

    qtbot.waitUntil(lambda: _engine(window).openvino_precision == "fast", timeout=TIMEOUT)
    window.close()
    assert load_settings().settings.openvino_precision == "fast"


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


def _open_cache_dialog(window) -> OpenVinoCacheDialog:
    window.backend_menu.cache_action.trigger()
    (dialog,) = [d for d in window.findChildren(OpenVinoCacheDialog) if d.isVisible()]  # a closed one goes later
    return dialog


def test_the_cache_limit_dialog_shows_the_limit_and_the_size_ok_keeps_it_for_the_engine_cancel_does_nothing(
        open_window, tiny_sd_dir, qtbot):
    save_settings(Settings(openvino_cache_gb=12.5))
    converted = openvino_cache_dir() / "unet-0123"  # 2.5 MB of converted models, a level down too
    (converted / "compiled").mkdir(parents=True)
    (converted / "openvino_model.bin").write_bytes(b"w" * 2_000_000)
    (converted / "compiled" / "42.blob").write_bytes(b"b" * 500_000)
    window = open_window(str(tiny_sd_dir))
    wait_ready(qtbot, window)
    engine = _engine(window)
    assert engine.openvino_cache_gb == 12.5

    dialog = _open_cache_dialog(window)
    assert dialog.limit_spin.value() == 12.5 and dialog.folder_label.text() == str(openvino_cache_dir())
    qtbot.waitUntil(lambda: dialog.size_label.text() == "2.5 MB", timeout=TIMEOUT)
    dialog.limit_spin.setValue(0)
    assert dialog.limit_spin.text() == NO_LIMIT
    saved = settings_path().read_bytes()
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert not dialog.isVisible() and settings_path().read_bytes() == saved
    assert window.settings.openvino_cache_gb == 12.5 and engine.openvino_cache_gb == 12.5

    dialog = _open_cache_dialog(window)
    assert dialog.limit_spin.value() == 12.5
    dialog.limit_spin.setValue(3.5)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert not dialog.isVisible() and load_settings().settings.openvino_cache_gb == 3.5  # saved at once
    qtbot.waitUntil(lambda: engine.openvino_cache_gb == 3.5, timeout=TIMEOUT)  # from the next generation on

    window.backend_menu.draft_action.setChecked(True)  # another Engine menu choice keeps the limit
    qtbot.waitUntil(lambda: engine.draft_decode, timeout=TIMEOUT)
    assert engine.openvino_cache_gb == 3.5
