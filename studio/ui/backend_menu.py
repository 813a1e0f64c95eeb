"""The Engine menu: run the UNet and VAE with OpenVINO instead of PyTorch (a setting), and the offer to, once, in
the status bar, when a model runs on the CPU (a notice in the message bar would cover the run's own messages)."""

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu

from studio.core.backends import OPENVINO, OPENVINO_INSTALL, TORCH, openvino_installed
from studio.core.settings import Settings

OFFER = "This model runs on the CPU: Engine > Run with OpenVINO makes each step about twice as fast, same pictures."


class BackendMenu:
    def __init__(self, window: QMainWindow, before: QMenu, settings: Settings, set_backend: Callable[[str], None],
                 offer: Callable[[str], None]) -> None:
        """``before`` is the menu the Engine menu goes in front of; ``offer`` shows one line."""
        self._settings = settings
        self._set_backend = set_backend
        self._offer = offer
        self.menu = QMenu("E&ngine", window, objectName="engineMenu")
        window.menuBar().insertMenu(before.menuAction(), self.menu)
        self.installed = openvino_installed()
        self.openvino_action = QAction("Run with &OpenVINO (CPU, Intel GPU)", window, objectName="openvinoAction",
                                       checkable=True)
        self.openvino_action.setEnabled(self.installed)
        self.openvino_action.setToolTip("Converts the model once, then runs each step faster on the CPU"
                                        if self.installed else f"OpenVINO is not installed: {OPENVINO_INSTALL}")
        self.openvino_action.setChecked(self.installed and settings.backend == OPENVINO)
        self.openvino_action.toggled.connect(self._toggled)
        self.menu.addAction(self.openvino_action)
        if settings.backend == OPENVINO and not self.installed:
            set_backend(TORCH)  # the setting stays, for when it is installed

    def model_loaded(self, device: str) -> None:
        """Offer OpenVINO once when a model runs on the CPU with PyTorch."""
        if device != "cpu" or self.openvino_action.isChecked() or self._settings.openvino_offered:
            return
        self._settings.openvino_offered = True
        self._offer(OFFER if self.installed else f"{OFFER} Install it first: {OPENVINO_INSTALL}")

    def _toggled(self, checked: bool) -> None:
        self._settings.backend = OPENVINO if checked else TORCH
        self._set_backend(self._settings.backend)
