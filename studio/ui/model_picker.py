"""The model list: recent models first, then ways to open another one."""

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QInputDialog, QWidget

from studio.core.paths import models_dir
from studio.core.settings import MAX_RECENT_MODELS, push_recent

OPEN_FILE = "open-file"
OPEN_FOLDER = "open-folder"
ENTER_HUB_ID = "hub-id"
GET_MODEL = "get-model"
_ACTIONS = (
    (OPEN_FILE, "Open model file..."),
    (OPEN_FOLDER, "Open model folder..."),
    (ENTER_HUB_ID, "Hugging Face model id..."),
    (GET_MODEL, "Get a model (downloads)..."),
)


def display_name(source: str) -> str:
    return Path(source).name if Path(source).expanduser().exists() else source


class ModelPicker(QComboBox):
    """Items hold ``"model:<source>"`` or ``"action:<kind>"``; choosing a model emits :attr:`chosen`."""

    chosen = Signal(str)
    get_model = Signal()  # "Get a model": the window shows the guide to well-known models

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelCombo")
        self.setToolTip("The model: a diffusers folder, a .safetensors checkpoint or a Hugging Face id")
        self.setMinimumContentsLength(18)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._recent: list[str] = []
        self._library: list[str] = []  # checkpoints the model library found, after the recent ones
        self._current = ""
        self.activated.connect(self._activated)
        self._rebuild()

    def recent(self) -> list[str]:
        return list(self._recent)

    def set_recent(self, sources: list[str]) -> None:
        self._recent = list(dict.fromkeys(sources))[:MAX_RECENT_MODELS]
        self._rebuild()

    def set_library(self, sources: list[str]) -> None:
        """The checkpoints in the model folders (files and diffusers folders), listed after the recent models."""
        self._library = list(sources)
        self._rebuild()

    def set_current(self, source: str) -> None:
        """Show ``source`` as the chosen model (first among the recent ones) without emitting :attr:`chosen`."""
        if source:
            self._recent = push_recent(self._recent, source)
        self._current = source
        self._rebuild()

    def forget(self, source: str) -> None:
        """Take ``source`` off the list (a model that could not be loaded)."""
        self._recent = [recent for recent in self._recent if recent != source]
        if self._current == source:
            self._current = ""
        self._rebuild()

    # -- asking the user (replaced in tests) ---------------------------------------------------
    def ask_file(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a model checkpoint", str(models_dir() / "checkpoints"), "Checkpoints (*.safetensors *.ckpt);;All files (*)"
        )
        return path or None

    def ask_folder(self) -> str | None:
        return QFileDialog.getExistingDirectory(self, "Open a diffusers model folder", str(models_dir())) or None

    def ask_hub_id(self) -> str | None:
        text, ok = QInputDialog.getText(
            self, "Hugging Face model", "Model id (owner/name), downloaded on first use:", text="stable-diffusion-v1-5/stable-diffusion-v1-5"
        )
        return text.strip() if ok and text.strip() else None

    # -- internals -----------------------------------------------------------------------------
    def _rebuild(self) -> None:
        self.blockSignals(True)
        self.clear()
        if not self._current:
            self.addItem("No model", "none:")
            if not self._recent and not self._library:  # a newcomer: point to the guide
                self.setItemData(0, "No model yet: choose Get a model… at the end of this list", Qt.ItemDataRole.ToolTipRole)
        for source in self._recent:
            self.addItem(display_name(source), f"model:{source}")
            self.setItemData(self.count() - 1, source, Qt.ItemDataRole.ToolTipRole)
        others = [source for source in self._library if source not in self._recent]
        if others:
            self.insertSeparator(self.count())
        for source in others:
            self.addItem(display_name(source), f"model:{source}")
            self.setItemData(self.count() - 1, source, Qt.ItemDataRole.ToolTipRole)
        self.insertSeparator(self.count())
        for kind, label in _ACTIONS:
            self.addItem(label, f"action:{kind}")
        self.setCurrentIndex(self._index_of(self._current))
        self.blockSignals(False)

    def _index_of(self, source: str) -> int:
        return self.findData(f"model:{source}") if source else 0

    def _activated(self, index: int) -> None:
        kind, _, value = (self.itemData(index) or "none:").partition(":")
        if kind == "action" and value == GET_MODEL:
            self.setCurrentIndex(self._index_of(self._current))
            self.get_model.emit()
            return
        if kind == "action":
            ask = {OPEN_FILE: self.ask_file, OPEN_FOLDER: self.ask_folder, ENTER_HUB_ID: self.ask_hub_id}[value]
            value = ask()
        if kind == "none" or not value:
            self.setCurrentIndex(self._index_of(self._current))  # cancelled: back to what was chosen
            return
        self.set_current(value)
        self.chosen.emit(value)
