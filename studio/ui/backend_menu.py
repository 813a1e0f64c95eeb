"""The Engine menu: run the UNet and VAE with OpenVINO instead of PyTorch, with int8 weights, and decode drafts with
the tiny autoencoder (settings the engine follows from the next generation on); and the offer of OpenVINO, once, in
the status bar, when a model runs on the CPU (a notice in the message bar would cover the run's own messages)."""

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu

from studio.core.backends import (FP32, INT8, INT8_INSTALL, OPENVINO, OPENVINO_INSTALL, TORCH, nncf_installed,
                                  openvino_installed)
from studio.core.engine_options import EngineOptions
from studio.core.paths import models_dir
from studio.core.settings import Settings

OFFER = "This model runs on the CPU: Engine > Run with OpenVINO makes each step about twice as fast, same pictures."


class BackendMenu:
    def __init__(self, window: QMainWindow, before: QMenu, settings: Settings,
                 set_options: Callable[[EngineOptions], None], offer: Callable[[str], None]) -> None:
        """``before`` is the menu the Engine menu goes in front of; ``offer`` shows one line."""
        self._settings = settings
        self._set_options = set_options
        self._offer = offer
        self.menu = QMenu("E&ngine", window, objectName="engineMenu")
        window.menuBar().insertMenu(before.menuAction(), self.menu)
        self.installed = openvino_installed()
        self.openvino_action = self._checkable(
            window, "Run with &OpenVINO (CPU, Intel GPU)", "openvinoAction",
            self.installed and settings.backend == OPENVINO,
            "Converts the model once, then runs each step faster on the CPU" if self.installed
            else f"OpenVINO is not installed: {OPENVINO_INSTALL}")
        self.openvino_action.setEnabled(self.installed)
        int8_ready = self.installed and nncf_installed()
        self.int8_action = self._checkable(
            window, "OpenVINO with &int8 weights (NNCF)", "openvinoInt8Action",
            int8_ready and settings.openvino_weights == INT8,
            "Compresses OpenVINO's weights to 8 bits: a quarter of the size, slightly different pictures (recorded "
            "as 'OpenVINO weights: int8')" if int8_ready else f"NNCF is not installed: {INT8_INSTALL}")
        self.int8_action.setEnabled(int8_ready)
        self.menu.addSeparator()
        self.draft_action = self._checkable(
            window, "&Draft decode with the tiny autoencoder (TAESD)", "draftDecodeAction", settings.draft_decode,
            "Decodes the final picture with TAESD instead of the VAE: faster, softer, recorded as 'Decoder: TAESD'. "
            f"Needs madebyollin/taesd in {models_dir() / 'taesd'} (SDXL: madebyollin/taesdxl in "
            f"{models_dir() / 'taesdxl'}).")
        if (settings.backend == OPENVINO and not self.installed) or (
                settings.openvino_weights == INT8 and not int8_ready):
            self._set_options(self._options())  # the settings stay, for when it is installed

    def _checkable(self, window: QMainWindow, text: str, name: str, checked: bool, tip: str) -> QAction:
        action = QAction(text, window, objectName=name, checkable=True)
        action.setToolTip(tip)
        action.setChecked(checked)
        action.toggled.connect(self._toggled)
        self.menu.addAction(action)
        return action

    def model_loaded(self, device: str) -> None:
        """Offer OpenVINO once when a model runs on the CPU with PyTorch."""
        if device != "cpu" or self.openvino_action.isChecked() or self._settings.openvino_offered:
            return
        self._settings.openvino_offered = True
        self._offer(OFFER if self.installed else f"{OFFER} Install it first: {OPENVINO_INSTALL}")

    def _options(self) -> EngineOptions:
        """What the menu shows (what is not installed is off), which the settings keep where it is installed."""
        return EngineOptions(backend=OPENVINO if self.openvino_action.isChecked() else TORCH,
                             draft_decode=self.draft_action.isChecked(),
                             openvino_weights=INT8 if self.int8_action.isChecked() else FP32)

    def _toggled(self) -> None:
        options = self._options()
        if self.openvino_action.isEnabled():
            self._settings.backend = options.backend
        if self.int8_action.isEnabled():
            self._settings.openvino_weights = options.openvino_weights
        self._settings.draft_decode = options.draft_decode
        self._set_options(options)
