"""The few-step preset picker: "Standard" or the sampler, steps and CFG an LCM, Turbo, Lightning or Hyper-SD model
needs (``core.fewstep``). It only shows and asks; the window's :class:`FewStepBinding` applies the choice."""

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QComboBox, QWidget

from studio.core.fewstep import PRESETS

STANDARD = "Standard"


class FewStepPicker(QComboBox):
    chosen = Signal(str)  # a preset's key, or "" for the standard settings (those before the preset)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fewStepPicker")
        self.addItem(STANDARD, "")
        for key, preset in PRESETS.items():
            self.addItem(preset.label, key)
            self.setItemData(self.count() - 1, f"{preset.label}: {preset.settings_text()}", Qt.ItemDataRole.ToolTipRole)
        self.setToolTip("Few-step models (LCM, Turbo, Lightning, Hyper-SD) need their own sampler, steps and CFG; "
                        "Standard brings back the settings from before.")
        self.activated.connect(lambda index: self.chosen.emit(self.itemData(index)))

    def show_preset(self, key: str) -> None:
        """Show ``key`` ("" = Standard) as the current choice, without asking for it again."""
        with QSignalBlocker(self):
            self.setCurrentIndex(max(self.findData(key), 0))

    def preset_key(self) -> str:
        return self.currentData() or ""
