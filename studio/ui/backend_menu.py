"""The Engine menu: run the UNet and VAE with OpenVINO instead of PyTorch, or, while OpenVINO is not installed,
install it (``openvino_dialog``) and then offer to switch; OpenVINO with int8 weights and in its fast precision;
drafts decoded by the tiny autoencoder (settings the engine follows from the next generation on); and the offer of OpenVINO, once, in the
status bar, when a model runs on the CPU (a notice in the message bar would cover the run's own messages)."""

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu

from studio.core.backends import (FAST, FP32, INT8, INT8_INSTALL, OPENVINO, OPENVINO_GAIN, TORCH, nncf_installed,
                                  openvino_installed)
from studio.core.engine_options import EngineOptions
from studio.core.paths import models_dir
from studio.core.settings import Settings
from studio.setup.openvino_install import DOWNLOAD_MB, install_openvino
from studio.ui.openvino_cache_dialog import OpenVinoCacheDialog
from studio.ui.openvino_dialog import OpenVinoDialog

OFFER = f"This model runs on the CPU: Engine > Run with OpenVINO is {OPENVINO_GAIN}."
OFFER_INSTALL = (f"This model runs on the CPU: OpenVINO is {OPENVINO_GAIN} "
                 f"(Engine > Install OpenVINO…, about {DOWNLOAD_MB} MB).")
RUN_TEXT = "Run with &OpenVINO (CPU, Intel GPU)"
INSTALL_TEXT = "Install &OpenVINO…"


class BackendMenu:
    def __init__(self, window: QMainWindow, before: QMenu, settings: Settings,
                 set_options: Callable[[EngineOptions], None], offer: Callable[[str], None]) -> None:
        """``before`` is the menu the Engine menu goes in front of; ``offer`` shows one line."""
        self._window = window
        self._settings = settings
        self._set_options = set_options
        self._offer = offer
        self.install = install_openvino  # install(on_progress=..., cancel=...) -> version; tests script it
        self.dialog: OpenVinoDialog | None = None  # the last one opened
        self.menu = QMenu("E&ngine", window, objectName="engineMenu")
        self.menu.setToolTipsVisible(True)  # the tips say what an item needs (NNCF, TAESD) and where it goes
        window.menuBar().insertMenu(before.menuAction(), self.menu)
        self.openvino_action = QAction(window, objectName="openvinoAction")
        self.openvino_action.toggled.connect(self._toggled)
        self.openvino_action.triggered.connect(self._triggered)
        self.menu.addAction(self.openvino_action)
        self.int8_action = self._checkable(window, "OpenVINO with &int8 weights (NNCF)", "openvinoInt8Action")
        self.fast_action = self._checkable(window, "OpenVINO in &fast precision (bf16/fp16)", "openvinoFastAction")
        self.cache_action = self.menu.addAction("OpenVINO &cache limit…", lambda: OpenVinoCacheDialog(
            settings, lambda: self._set_options(self._options()), window).open())
        self.menu.addSeparator()
        self.draft_action = self._checkable(
            window, "&Draft decode with the tiny autoencoder (TAESD)", "draftDecodeAction",
            "Decodes the final picture with TAESD instead of the VAE: faster, softer, recorded as 'Decoder: TAESD'. "
            f"Needs madebyollin/taesd in {models_dir() / 'taesd'} (SDXL: madebyollin/taesdxl in "
            f"{models_dir() / 'taesdxl'}).")
        self.draft_action.setChecked(settings.draft_decode)
        self.menu.aboutToShow.connect(self.refresh)  # installed since, e.g. by a pip in a terminal
        self.installed: bool | None = None  # not looked yet
        self.refresh()
        if ((settings.backend == OPENVINO and not self.installed) or settings.openvino_weights == INT8
                or settings.openvino_precision == FAST):
            self._set_options(self._options())  # what is not installed is off; the settings stay for when it is

    def _checkable(self, window: QMainWindow, text: str, name: str, tip: str = "") -> QAction:
        action = QAction(text, window, objectName=name, checkable=True)
        action.setToolTip(tip)
        action.toggled.connect(lambda _checked: self._toggled())
        self.menu.addAction(action)
        return action

    def refresh(self) -> None:
        """The items follow what is installed: "Run with OpenVINO" (checkable) or "Install OpenVINO…", and int8
        weights only with NNCF."""
        was_installed, self.installed = self.installed, openvino_installed()
        int8_ready = self.installed and nncf_installed()
        action = self.openvino_action
        for item in (action, self.int8_action, self.fast_action):
            item.blockSignals(True)  # the setting is what the check shows, not a new choice
        action.setCheckable(self.installed)
        action.setChecked(self.installed and self._settings.backend == OPENVINO)
        action.setText(RUN_TEXT if self.installed else INSTALL_TEXT)
        action.setToolTip(f"Converts the model once, then runs it: {OPENVINO_GAIN}" if self.installed
                          else f"OpenVINO is not installed: this downloads it (about {DOWNLOAD_MB} MB), no restart")
        self.int8_action.setEnabled(int8_ready)
        self.int8_action.setChecked(int8_ready and self._settings.openvino_weights == INT8)
        self.int8_action.setToolTip(
            "Compresses OpenVINO's weights to 8 bits: a quarter of the size, slightly different pictures (recorded "
            "as 'OpenVINO weights: int8')" if int8_ready else f"NNCF is not installed: {INT8_INSTALL}")
        self.fast_action.setEnabled(self.installed)
        self.fast_action.setChecked(self.installed and self._settings.openvino_precision == FAST)
        self.fast_action.setToolTip(
            "Lets OpenVINO compute in bf16 (CPUs with AMX or AVX-512 BF16) or fp16 (Intel GPUs): about 3x faster a "
            "step where the CPU has it, slightly different pictures (recorded as 'OpenVINO precision: bf16'); fp32 "
            "elsewhere" if self.installed else "OpenVINO is not installed")
        for item in (action, self.int8_action, self.fast_action):
            item.blockSignals(False)
        if self.installed and was_installed is False and self._settings.backend == OPENVINO:
            self._set_options(self._options())  # chosen before, on a machine (or venv) that had it

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

    def _options(self) -> EngineOptions:
        """What the menu shows (what is not installed is off), which the settings keep where it is installed."""
        return EngineOptions(backend=OPENVINO if self.openvino_action.isChecked() else TORCH,
                             draft_decode=self.draft_action.isChecked(),
                             openvino_weights=INT8 if self.int8_action.isChecked() else FP32,
                             openvino_precision=FAST if self.fast_action.isChecked() else FP32,
                             openvino_cache_gb=self._settings.openvino_cache_gb)

    def _triggered(self) -> None:
        if not self.openvino_action.isCheckable():
            self.open_install()

    def _toggled(self, *_checked) -> None:
        options = self._options()
        if self.openvino_action.isCheckable():
            self._settings.backend = options.backend
        if self.int8_action.isEnabled():
            self._settings.openvino_weights = options.openvino_weights
        if self.fast_action.isEnabled():
            self._settings.openvino_precision = options.openvino_precision
        self._settings.draft_decode = options.draft_decode
        self._set_options(options)
