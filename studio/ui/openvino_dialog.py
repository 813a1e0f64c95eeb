"""Engine › Install OpenVINO…: what OpenVINO brings and costs, then its install (the set-up's uv machinery, with
progress and cancel), then the result in one sentence, and the offer to run with it at once (no restart)."""

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from studio.core.backends import OPENVINO_GAIN
from studio.session.install_task import InstallTask
from studio.setup.openvino_install import DOWNLOAD_MB, INSTALLED_MB
from studio.ui.install_progress import InstallProgress

INTRO = (f"OpenVINO runs the UNet and the VAE on this computer's CPU (or on an Intel GPU): {OPENVINO_GAIN}. "
         f"It is about {DOWNLOAD_MB} MB to download from PyPI ({INSTALLED_MB} MB on disk), "
         "installed into Latent Studio's own environment; no restart is needed.")
CANCELLED = "Cancelled: nothing was changed; Latent Studio goes on with PyTorch."


SELECTABLE = Qt.TextInteractionFlag.TextSelectableByMouse
class OpenVinoDialog(QDialog):
    installed = Signal(str)  # OpenVINO's version, once it is installed and works
    switch_requested = Signal()  # "Run with OpenVINO" after the install

    def __init__(self, install: Callable[..., str], parent: QWidget | None = None) -> None:
        """``install(on_progress=..., cancel=...)`` returns the version (``openvino_install.install_openvino``)."""
        super().__init__(parent)
        self.setObjectName("openvinoDialog")
        self.setWindowTitle("Install OpenVINO")
        self.setWindowModality(Qt.WindowModality.WindowModal)  # no second uv run into the environment meanwhile
        self.resize(520, 240)
        self._install = install
        self.task = InstallTask("The OpenVINO install", self)
        self.pages = QStackedWidget(objectName="openvinoPages")
        self.install_button = QPushButton("Install", objectName="openvinoInstallButton", default=True)
        self.not_now_button = QPushButton("Not now", objectName="openvinoNotNowButton")
        self.running = InstallProgress("openvino")
        self.result_label = QLabel(objectName="openvinoResultLabel", wordWrap=True, textInteractionFlags=SELECTABLE)
        self.retry_button = QPushButton("Try again", objectName="openvinoRetryButton")
        self.switch_button = QPushButton("Run with OpenVINO", objectName="openvinoSwitchButton")
        self.close_button = QPushButton("Close", objectName="openvinoCloseButton")
        self._lay_out()
        self.install_button.clicked.connect(self.start)
        self.retry_button.clicked.connect(self.start)
        self.not_now_button.clicked.connect(self.reject)
        self.close_button.clicked.connect(self.reject)
        self.switch_button.clicked.connect(self._switch)
        self.running.cancel_requested.connect(self.task.cancel)
        self.task.progress.connect(self.running.show_progress)
        self.task.done.connect(self._installed)
        self.task.failed.connect(lambda sentence: self._result(sentence, ok=False))
        self.task.cancelled.connect(lambda: self._result(CANCELLED, ok=False))

    def _lay_out(self) -> None:
        ask = QWidget()
        column = QVBoxLayout(ask)
        column.addWidget(QLabel(INTRO, objectName="openvinoIntro", wordWrap=True, textInteractionFlags=SELECTABLE))
        column.addStretch(1)
        column.addLayout(_row(self.not_now_button, None, self.install_button))

        result = QWidget()
        column = QVBoxLayout(result)
        column.addWidget(self.result_label)
        column.addStretch(1)
        column.addLayout(_row(self.close_button, None, self.retry_button, self.switch_button))

        for page in (ask, self.running, result):
            self.pages.addWidget(page)
        QVBoxLayout(self).addWidget(self.pages)

    def start(self) -> None:
        if self.task.start(self._install):
            self.running.begin("Starting the install of OpenVINO…")
            self.pages.setCurrentIndex(1)

    def _installed(self, version: str) -> None:
        self.installed.emit(version)
        self._result(f"OpenVINO {version} is installed and works. Run with it now? Each model is converted once, "
                     "on its first picture (a minute or so for SD 1.5), then every step is faster.", ok=True)

    def _result(self, sentence: str, *, ok: bool) -> None:
        self.result_label.setText(sentence)
        self.result_label.setProperty("ok", ok)
        self.retry_button.setVisible(not ok)
        self.switch_button.setVisible(ok)
        self.close_button.setText("Not now" if ok else "Close")
        self.pages.setCurrentIndex(2)
        (self.switch_button if ok else self.retry_button).setFocus()

    def _switch(self) -> None:
        self.switch_requested.emit()
        self.accept()

    def reject(self) -> None:  # Esc, the title bar's close, Close: cancel a running install first
        if self.task.running:
            self.task.cancel()
            return
        super().reject()


def _row(*widgets: QWidget | None) -> QHBoxLayout:
    """The widgets left to right; None is the stretch between them."""
    row = QHBoxLayout()
    for widget in widgets:
        if widget is None:
            row.addStretch(1)
        else:
            row.addWidget(widget)
    return row
