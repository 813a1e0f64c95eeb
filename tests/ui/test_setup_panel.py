"""The set-up panel and the engine gate in the window, with a scripted set-up (pure UI behaviour: the real
install is tested in tests/test_setup_install.py)."""

import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from studio.core.errors import StudioError
from studio.session.torch_setup import TorchSetup
from studio.setup.builds import get_build, propose
from studio.setup.gate import EngineGate
from studio.setup.hardware import Hardware, NvidiaGpu
from studio.setup.installed import InstalledTorch, assess
from studio.setup.installer import DOWNLOADING, Progress
from studio.setup.procedure import SetUp, Situation
from studio.setup.verify import Verified
from studio.ui.setup_gate import NOT_SET_UP, attach_torch_setup
from studio.ui.setup_panel import SetupDialog
from tests.ui.conftest import TIMEOUT, wait_ready
from tests.ui.fakes import FakeEngine
from tests.ui.scripted_install import WAIT_FOR_CANCEL, ScriptedInstall

RTX_4090 = Hardware("linux", "x86_64", (NvidiaGpu("NVIDIA GeForce RTX 4090", (8, 9)),), cuda_driver=(13, 0))


def situation(hardware=RTX_4090, version="2.13.0+cpu"):
    installed = InstalledTorch(version) if version else None
    proposal = propose(hardware)
    return Situation(hardware, proposal, installed, assess(installed, hardware, proposal))


def verified(build, hardware, *, openvino=False):
    return SetUp(Verified(build.torch, "cuda: NVIDIA GeForce RTX 4090"), openvino="2026.4.1" if openvino else "")


def scripted(*outcomes):
    """The set-up's install: 700 of 7,000 MB reported, then each outcome ("verified" for a success)."""
    return ScriptedInstall(Progress(DOWNLOADING, 700, 7000, 35.0, 180),
                           *(verified if outcome is None else outcome for outcome in outcomes))


def builds(install):
    return [args[0].name for args, _ in install.calls]


@pytest.fixture
def dialog(qtbot, qloop):
    def open_(found, install):
        setup = TorchSetup(look=lambda: found, install=install)
        dialog = SetupDialog(setup)
        qtbot.addWidget(dialog)
        dialog.show()
        dialog.panel.start()
        qtbot.waitUntil(lambda: dialog.panel.pages.currentIndex() == 1, timeout=TIMEOUT)
        return dialog
    return open_


def test_a_cpu_build_on_an_nvidia_machine_is_offered_a_repair(qtbot, dialog):
    panel = dialog(situation(), scripted(None)).panel
    assert "RTX 4090" in panel.hardware_label.text() and "Ada" in panel.hardware_label.text()
    assert "CPU build" in panel.reason_label.text()
    assert panel.build_combo.currentData().name == "cu130"
    assert "about 3,000 MB to download" in panel.proposal_label.text()
    assert panel.install_button.text() == "Repair" and panel.keep_button.isVisibleTo(panel)


def test_install_shows_progress_then_the_verified_result(qtbot, dialog):
    install = scripted(None)
    setup_dialog = dialog(situation(version=None), install)
    panel = setup_dialog.panel
    assert panel.install_button.text() == "Install" and not panel.keep_button.isVisibleTo(panel)
    shown = []
    panel.setup.install_task.progress.connect(lambda progress: shown.append(panel.running.label.text()))
    names = [panel.build_combo.itemData(i).name for i in range(panel.build_combo.count())]
    assert names == ["cpu", "cu126", "cu129", "cu130", "rocm7.2"]  # every build with Linux x86_64 wheels
    panel.build_combo.setCurrentIndex(names.index("cu126"))
    with qtbot.waitSignal(panel.finished, timeout=TIMEOUT) as finished:
        qtbot.mouseClick(panel.install_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.pages.currentIndex() == 3, timeout=TIMEOUT)
        assert "2.13.0+cu126 is installed and works" in panel.result_label.text()
        assert any("700 of about 7,000 MB · 35.0 MB/s · about 3 min left" in text for text in shown), shown
        panel.continue_button.click()
    assert finished.args == [True] and builds(install) == ["cu126"]


def test_a_failure_is_one_sentence_and_can_be_retried(qtbot, dialog):
    offline = StudioError("PyTorch could not be downloaded: download.pytorch.org cannot be reached.")
    panel = dialog(situation(), scripted(offline, None)).panel
    panel.install_button.click()
    qtbot.waitUntil(lambda: panel.pages.currentIndex() == 3, timeout=TIMEOUT)
    assert panel.result_label.text() == str(offline)
    assert panel.retry_button.isVisibleTo(panel) and not panel.continue_button.isVisibleTo(panel)
    panel.retry_button.click()
    qtbot.waitUntil(lambda: panel.continue_button.isVisibleTo(panel), timeout=TIMEOUT)
    assert "installed and works" in panel.result_label.text()


def test_cancel_stops_the_download_and_says_nothing_changed(qtbot, dialog):
    panel = dialog(situation(), scripted(WAIT_FOR_CANCEL)).panel
    panel.install_button.click()
    qtbot.waitUntil(lambda: "700 of about" in panel.running.label.text(), timeout=TIMEOUT)
    assert panel.running.cancel_button.isEnabled()
    panel.running.cancel_button.click()
    qtbot.waitUntil(lambda: panel.pages.currentIndex() == 3, timeout=TIMEOUT)
    assert panel.result_label.text().startswith("Cancelled: nothing was changed")
    assert not panel.setup.installing


def test_the_engine_waits_for_the_set_up_then_starts(qtbot, open_window, tmp_path):
    gate = EngineGate()
    engines = []

    def make_engine():
        engines.append(FakeEngine())
        return engines[-1]

    window = open_window(model=str(tmp_path), make_engine=gate.guard(make_engine))
    attach_torch_setup(window, gate, TorchSetup(look=lambda: situation(), install=scripted(None)))
    qtbot.waitUntil(lambda: getattr(window, "setup_dialog", None) is not None, timeout=TIMEOUT)
    panel = window.setup_dialog.panel
    qtbot.waitUntil(lambda: panel.pages.currentIndex() == 1, timeout=TIMEOUT)
    qtbot.wait(100)
    assert engines == [] and not window.generate_button.isEnabled()  # the model load waits at the gate
    panel.install_button.click()
    qtbot.waitUntil(lambda: panel.continue_button.isVisibleTo(panel), timeout=TIMEOUT)
    panel.continue_button.click()
    wait_ready(qtbot, window)
    assert len(engines) == 1 and gate.is_open
    assert window.findChild(QAction, "setupTorchAction") is not None


def test_a_fitting_torch_skips_the_panel_and_not_now_refuses_with_a_sentence(qtbot, open_window, tmp_path):
    gate = EngineGate()
    window = open_window(make_engine=gate.guard(FakeEngine))
    attach_torch_setup(window, gate, TorchSetup(look=lambda: situation(Hardware("linux", "x86_64")),
                                                install=scripted()))
    qtbot.waitUntil(lambda: gate.is_open, timeout=TIMEOUT)
    assert getattr(window, "setup_dialog", None) is None

    other = EngineGate()
    window2 = open_window(model=str(tmp_path), make_engine=other.guard(FakeEngine))
    attach_torch_setup(window2, other, TorchSetup(look=lambda: situation(version=None), install=scripted()))
    qtbot.waitUntil(lambda: getattr(window2, "setup_dialog", None) is not None, timeout=TIMEOUT)
    panel = window2.setup_dialog.panel
    qtbot.waitUntil(lambda: panel.pages.currentIndex() == 1, timeout=TIMEOUT)
    panel.close_button.click()
    qtbot.waitUntil(lambda: window2.message_bar.isVisible(), timeout=TIMEOUT)
    assert window2.message_bar.text_label.text() == NOT_SET_UP
    help_action = window2.findChild(QAction, "setupTorchAction")
    help_action.trigger()  # Help › Set up PyTorch… opens it again
    qtbot.waitUntil(lambda: window2.setup_dialog.panel.pages.currentIndex() == 1, timeout=TIMEOUT)



def test_a_cpu_build_offers_openvino_checked_and_installs_it_after_torch(qtbot, dialog, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # not installed
    install = scripted(None, None)
    panel = dialog(situation(Hardware("linux", "x86_64"), version=None), install).panel
    check = panel.openvino_check
    assert panel.build_combo.currentData().name == "cpu"
    assert check.isVisibleTo(panel) and check.isChecked() and "~60 MB" in check.text()
    panel.build_combo.setCurrentIndex(panel.build_combo.findData(get_build("cu130")))
    assert not check.isVisibleTo(panel)  # CUDA: PyTorch is the fast one there
    panel.build_combo.setCurrentIndex(panel.build_combo.findData(get_build("cpu")))
    assert check.isVisibleTo(panel)

    panel.install_button.click()
    qtbot.waitUntil(lambda: panel.continue_button.isVisibleTo(panel), timeout=TIMEOUT)
    assert install.calls[-1][1] == {"openvino": True}
    assert "OpenVINO 2026.4.1 too: Engine › Run with OpenVINO" in panel.result_label.text()

    panel.pages.setCurrentIndex(1)  # Help › Set up PyTorch… again, say
    check.setChecked(False)
    panel.install_button.click()
    qtbot.waitUntil(lambda: len(install.calls) == 2 and panel.pages.currentIndex() == 3, timeout=TIMEOUT)
    assert install.calls[-1][1] == {"openvino": False} and "OpenVINO" not in panel.result_label.text()


def test_an_openvino_failure_still_starts_the_app_with_pytorch(qtbot, dialog, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)
    offline = "OpenVINO could not be downloaded: pypi.org cannot be reached (check the network connection)."
    install = scripted(lambda build, hardware, openvino: SetUp(Verified(build.torch, "cpu"), openvino_problem=offline))
    panel = dialog(situation(Hardware("linux", "x86_64"), version=None), install).panel
    with qtbot.waitSignal(panel.finished, timeout=TIMEOUT) as finished:
        panel.install_button.click()
        qtbot.waitUntil(lambda: panel.continue_button.isVisibleTo(panel), timeout=TIMEOUT)
        text = panel.result_label.text()
        assert text.startswith("PyTorch 2.13.0+cpu is installed and works (cpu).")
        assert text.endswith(f" {offline} Engine › Install OpenVINO… can install it later.")
        panel.continue_button.click()
    assert finished.args == [True]
