"""The PyTorch set-up panel: what was found, the build proposed and its size, a way to pick another, with a CPU
build the offer to install OpenVINO too, progress with cancel, and the result. Shown in a dialog over the window
at first start (or from Help › Set up PyTorch…); the engine starts only once it reports that torch is ready.

OpenVINO is checked by default with a CPU build: there it is the way to the fast precision (about 3x faster on CPUs
that compute bf16), it adds about a quarter to the CPU build's download, and installing it changes nothing until Engine › Run with OpenVINO is chosen.
"""

import sys

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.core.backends import OPENVINO_GAIN
from studio.session.torch_setup import TorchSetup
from studio.setup.builds import Build, builds_for
from studio.setup.checks import local_wheels
from studio.setup.openvino_install import DOWNLOAD_MB, offer_openvino
from studio.setup.procedure import SetUp, Situation
from studio.ui.install_progress import InstallProgress


def _label(name: str, text: str = "") -> QLabel:
    label = QLabel(text, objectName=name, wordWrap=True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class SetupPanel(QWidget):
    finished = Signal(bool)  # True: torch is ready (installed and verified, fits, or kept); False: closed without

    def __init__(self, setup: TorchSetup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("setupPanel")
        self.setup = setup
        self.pages = QStackedWidget(objectName="setupPages")
        self.checking_label = _label("setupCheckingLabel", "Looking at this computer's graphics hardware…")
        self.hardware_label = _label("setupHardwareLabel")
        self.reason_label = _label("setupReasonLabel")
        self.build_combo = QComboBox(objectName="setupBuildCombo")
        self.build_combo.setToolTip("The PyTorch build to install; the proposed one fits this computer")
        self.proposal_label = _label("setupProposalLabel")
        self.openvino_check = QCheckBox(f"Also install OpenVINO (for CPUs and Intel GPUs, ~{DOWNLOAD_MB} MB)",
                                        objectName="setupOpenVinoCheck", checked=True)
        self.openvino_check.setToolTip(f"OpenVINO runs the UNet and the VAE {OPENVINO_GAIN}; Engine › "
                                       "Run with OpenVINO switches to it. It can also be installed later, from the "
                                       "Engine menu.")
        self.install_button = QPushButton("Install", objectName="setupInstallButton")
        self.install_button.setDefault(True)
        self.keep_button = QPushButton("Keep the current PyTorch", objectName="setupKeepButton")
        self.close_button = QPushButton("Not now", objectName="setupCloseButton")
        self.running = InstallProgress("setup")
        self.result_label = _label("setupResultLabel")
        self.retry_button = QPushButton("Try again", objectName="setupRetryButton")
        self.back_button = QPushButton("Choose another build", objectName="setupBackButton")
        self.continue_button = QPushButton("Start Latent Studio", objectName="setupContinueButton")
        self._lay_out()
        self._connect()
        self._ready = False

    def _lay_out(self) -> None:
        title = QLabel("<b>Set up PyTorch</b>", objectName="setupTitle")
        intro = _label("setupIntro", "Latent Studio computes with PyTorch. The build that fits this computer is "
                                     "downloaded once into Latent Studio's own folder.")
        checking = QWidget()
        QVBoxLayout(checking).addWidget(self.checking_label)

        choose = QWidget()
        column = QVBoxLayout(choose)
        column.addWidget(self.hardware_label)
        column.addWidget(self.reason_label)
        column.addWidget(QLabel("Build:"))
        column.addWidget(self.build_combo)
        column.addWidget(self.proposal_label)
        column.addWidget(self.openvino_check)
        column.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.keep_button)
        buttons.addStretch(1)
        buttons.addWidget(self.install_button)
        column.addLayout(buttons)

        result = QWidget()
        column = QVBoxLayout(result)
        column.addWidget(self.result_label)
        column.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.back_button)
        row.addStretch(1)
        row.addWidget(self.retry_button)
        row.addWidget(self.continue_button)
        column.addLayout(row)

        for page in (checking, choose, self.running, result):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addWidget(self.pages, 1)

    def _connect(self) -> None:
        task = self.setup.install_task
        self.setup.looked.connect(self.show_situation)
        task.progress.connect(self.running.show_progress)
        task.done.connect(self._installed)
        task.failed.connect(lambda sentence: self._result(sentence, ok=False))
        task.cancelled.connect(lambda: self._result(
            "Cancelled: nothing was changed. What was already downloaded is kept, so trying again resumes.", ok=False))
        self.build_combo.currentIndexChanged.connect(self._describe_choice)
        self.install_button.clicked.connect(self.install)
        self.retry_button.clicked.connect(self.install)
        self.back_button.clicked.connect(lambda: self.pages.setCurrentIndex(1))
        self.running.cancel_requested.connect(self.setup.cancel)
        self.keep_button.clicked.connect(self._keep)
        self.close_button.clicked.connect(lambda: self.finished.emit(self._ready))
        self.continue_button.clicked.connect(lambda: self.finished.emit(True))

    # -- showing ---------------------------------------------------------------------------------
    def start(self) -> None:
        self.pages.setCurrentIndex(0)
        self.setup.look()

    def show_situation(self, situation: Situation) -> None:
        self.hardware_label.setText(f"Found: {situation.hardware.describe()}.")
        needs = situation.needs_setup
        self._ready = not needs
        self.reason_label.setText(situation.explain() + ("" if needs else " A different build can be installed "
                                                                         "here (repair or switch)."))
        self.build_combo.blockSignals(True)
        self.build_combo.clear()
        proposed = situation.proposal.build
        for build in builds_for(situation.hardware):
            self.build_combo.addItem(f"{build.label} ({build.name})" + ("  · proposed" if build == proposed else ""),
                                     build)
        index = self.build_combo.findData(proposed) if proposed else -1
        self.build_combo.setCurrentIndex(max(index, 0))
        self.build_combo.blockSignals(False)
        self._describe_choice()
        self.install_button.setEnabled(self.build_combo.count() > 0)
        self.install_button.setText("Install" if situation.installed is None else "Repair" if needs else "Reinstall")
        self.keep_button.setVisible(situation.installed is not None and needs and not situation.interrupted)
        self.close_button.setText("Close" if self._ready else "Not now")
        self.pages.setCurrentIndex(1)
        self.install_button.setFocus()

    def _describe_choice(self) -> None:
        build: Build | None = self.build_combo.currentData()
        situation = self.setup.situation
        self.openvino_check.setVisible(build is not None and offer_openvino(build))
        if build is None or situation is None:
            self.proposal_label.setText(situation.proposal.reason if situation else "")
            return
        download, installed = build.sizes(situation.hardware.system)
        source = (f"from the local folder {local_wheels()}" if local_wheels()
                  else f"about {download:,} MB to download from {build.index_url}")
        why = situation.proposal.reason if build == situation.proposal.build else "Not the proposed build."
        self.proposal_label.setText(f"torch {build.torch}: {source}, about {installed:,} MB on disk. {why}")

    # -- acting ----------------------------------------------------------------------------------
    def install(self) -> None:
        build = self.build_combo.currentData()
        if build is None:
            return
        openvino = not self.openvino_check.isHidden() and self.openvino_check.isChecked()
        self.running.begin(f"Starting the install of torch {build.torch}{' and OpenVINO' if openvino else ''}…")
        self.pages.setCurrentIndex(2)
        self.setup.install(build, openvino=openvino)

    def _keep(self) -> None:
        self.setup.keep_current()
        self.finished.emit(True)

    def _installed(self, done: SetUp) -> None:
        self._ready = True
        verified = done.verified
        restart = (" Restart Latent Studio to use it: the PyTorch loaded before keeps running until then."
                   if "torch" in sys.modules else "")
        openvino = (f" OpenVINO {done.openvino} too: Engine › Run with OpenVINO is {OPENVINO_GAIN}."
                    if done.openvino else "")
        if done.openvino_problem:
            openvino = f" {done.openvino_problem} Engine › Install OpenVINO… can install it later."
        self._result(f"PyTorch {verified.torch} is installed and works ({verified.device}).{restart}{openvino}",
                     ok=True)

    def _result(self, sentence: str, *, ok: bool) -> None:
        self.result_label.setText(sentence)
        self.result_label.setProperty("ok", ok)
        self.retry_button.setVisible(not ok)
        self.back_button.setVisible(not ok)
        self.continue_button.setVisible(ok)
        self.continue_button.setText("Start Latent Studio" if "torch" not in sys.modules else "Close")
        self.pages.setCurrentIndex(3)


class SetupDialog(QDialog):
    """The panel in a window-modal dialog: while it is up, nothing in the window can start the engine."""

    def __init__(self, setup: TorchSetup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("setupDialog")
        self.setWindowTitle("Set up PyTorch")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.resize(620, 360)
        self.panel = SetupPanel(setup, self)
        QVBoxLayout(self).addWidget(self.panel)
        self.panel.finished.connect(lambda ready: self.done(QDialog.DialogCode.Accepted if ready
                                                            else QDialog.DialogCode.Rejected))

    def reject(self) -> None:  # Esc or the title bar's close: cancel a running install first
        if self.panel.setup.installing:
            self.panel.setup.cancel()
            return
        super().reject()


def add_setup_action(window: QMainWindow, trigger) -> None:
    """Help › Set up PyTorch… (repair or switch the build), added to the window's Help menu."""
    bar = window.menuBar()
    menu = next((action.menu() for action in bar.actions()
                 if action.menu() is not None and action.text().replace("&", "") == "Help"), None)
    menu = menu or bar.addMenu("&Help")
    action = menu.addAction("Set up PyTorch…")
    action.setObjectName("setupTorchAction")
    action.triggered.connect(trigger)
