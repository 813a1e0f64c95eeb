"""The VAE choice: "the model's own", or a file from the VAE folders, remembered per model."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QWidget

from studio.core.model_folders import ModelKind
from studio.core.model_scan import MODEL_SUFFIXES
from studio.session.library import ModelLibrary

OWN = "The model's own VAE"


class VaePicker(QComboBox):
    """Items hold a VAE's library name ("" for the model's own); :meth:`choice` is what the request takes."""

    chosen = Signal(str)

    def __init__(self, library: ModelLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vaeCombo")
        self.setToolTip("The VAE that turns latents into pixels: the model's own, or one from the VAE folders")
        self._library = library
        self._wanted = ""
        library.entries_changed.connect(lambda _entries: self._rebuild())
        self.activated.connect(lambda _index: self._activated())
        self._rebuild()

    def choice(self) -> str:
        return self.currentData() or ""

    def set_choice(self, name: str) -> None:
        """Select ``name`` without emitting :attr:`chosen`; a name not (yet) in the library is kept and shown."""
        self._wanted = name
        self._rebuild()

    def set_recorded(self, recorded: str) -> None:
        """Select the VAE a recipe names (A1111 records the file name, ``vae-ft-mse.safetensors``)."""
        stem = recorded.rsplit(".", 1)[0] if recorded.lower().endswith(MODEL_SUFFIXES) else recorded
        match = next((e.name for e in self._library.of_kind(ModelKind.VAE)
                      if e.path.name.lower() == recorded.lower() or e.name.lower() == stem.lower()), stem)
        self.set_choice(match)
        self.chosen.emit(self._wanted)

    def _rebuild(self) -> None:
        self.blockSignals(True)
        self.clear()
        self.addItem(OWN, "")
        names = [entry.name for entry in self._library.of_kind(ModelKind.VAE) if not entry.problem]
        if self._wanted and self._wanted not in names:
            names.append(self._wanted)  # still chosen: the engine says so in one sentence if it is gone
        for name in names:
            self.addItem(name, name)
        self.setCurrentIndex(max(0, self.findData(self._wanted)))
        self.blockSignals(False)

    def _activated(self) -> None:
        self._wanted = self.choice()
        self.chosen.emit(self._wanted)
