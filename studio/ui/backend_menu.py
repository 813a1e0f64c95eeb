"""The Engine menu: run the UNet and VAE with OpenVINO instead of PyTorch (a setting), or, while OpenVINO is not
installed, install it (``openvino_dialog``) and then offer to switch; and the offer to, once, in the status bar,
when a model runs on the CPU (a notice in the message bar would cover the run's own messages)."""

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu

from studio.core.backends import OPENVINO, TORCH, openvino_installed
from studio.core.settings import Settings
from studio.setup.openvino_install import DOWNLOAD_MB, install_openvino
from studio.ui.openvino_dialog import OpenVinoDialog

OFFER = "This model runs on the CPU: Engine > Run with OpenVINO makes each step about twice as fast, same pictures."
OFFER_INSTALL = ("This model runs on the CPU: OpenVINO makes each step about twice as fast, same pictures "
                 f"(Engine > Install OpenVINO…, about {DOWNLOAD_MB} MB).")
RUN_TEXT = "Run with &OpenVINO (CPU, Intel GPU)"
INSTALL_TEXT = "Install &OpenVINO…"


class BackendMenu:
    def __init__(self, window: QMainWindow, before: QMenu, settings: Settings, set_backend: Callable[[str], None],
                 offer: Callable[[str], None]) -> None:
        """``before`` is the menu the Engine menu goes in front of; ``offer`` shows one line."""
        self._window = window
        self._settings = settings
        self._set_backend = set_backend
        self._offer = offer
        self.install = install_openvino  # install(on_progress=..., cancel=...) -> version; tests script it
        self.dialog: OpenVinoDialog | None = None  # the last one opened
        self.menu = QMenu("E&ngine", window, objectName="engineMenu")
        window.menuBar().insertMenu(before.menuAction(), self.menu)
        self.openvino_action = QAction(window, objectName="openvinoAction")
        self.openvino_action.toggled.connect(self._toggled)
        self.openvino_action.triggered.connect(self._triggered)
        self.menu.addAction(self.openvino_action)
        self.menu.aboutToShow.connect(self.refresh)  # installed since, e.g. by a pip in a terminal
        self.installed: bool | None = None  # not looked yet
        self.refresh()
        if settings.backend == OPENVINO and not self.installed:
            set_backend(TORCH)  # the setting stays, for when it is installed (refresh then switches back)

    def refresh(self) -> None:
        """The item follows whether OpenVINO is installed: "Run with OpenVINO" (checkable) or "Install OpenVINO…"."""
        was_installed, self.installed = self.installed, openvino_installed()
        action = self.openvino_action
        action.blockSignals(True)  # the setting is what the check shows, not a new choice
        action.setCheckable(self.installed)
        action.setChecked(self.installed and self._settings.backend == OPENVINO)
        action.blockSignals(False)
        action.setText(RUN_TEXT if self.installed else INSTALL_TEXT)
        action.setToolTip("Converts the model once, then runs each step faster on the CPU" if self.installed
                          else f"OpenVINO is not installed: this downloads it (about {DOWNLOAD_MB} MB), no restart")
        if self.installed and was_installed is False and self._settings.backend == OPENVINO:
            self._set_backend(OPENVINO)  # chosen before, on a machine (or venv) that had it

    def model_loaded(self, device: str) -> None:
        """Offer OpenVINO once when a model runs on the CPU with PyTorch."""
        self.refresh()  # the set-up may have installed it
        if device != "cpu" or self.openvino_action.isChecked() or self._settings.openvino_offered:
            return
        self._settings.openvino_offered = True
        self._offer(OFFER if self.installed else OFFER_INSTALL)

    def open_install(self) -> OpenVinoDialog:
        """Engine › Install OpenVINO…: the install, then the offer to run with it."""
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = OpenVinoDialog(self.install, self._window)
        self.dialog.installed.connect(lambda version: self.refresh())
        self.dialog.switch_requested.connect(lambda: self.openvino_action.setChecked(True))
        self.dialog.open()
        return self.dialog

    def _triggered(self) -> None:
        if not self.openvino_action.isCheckable():
            self.open_install()

    def _toggled(self, checked: bool) -> None:
        self._settings.backend = OPENVINO if checked else TORCH
        self._set_backend(self._settings.backend)
