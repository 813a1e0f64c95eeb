"""Saved prompt styles (A1111's ``styles.csv``): pick one and apply it to the prompts, or save the prompts
as a named style."""

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QInputDialog, QPushButton, QWidget

from studio.core.styles import Style, apply_style, load_styles, save_styles, styles_path, with_style

AskName = Callable[[str], str | None]  # the suggested name -> the chosen one, None when cancelled


class StylesBar(QWidget):
    message = Signal(str, str)  # one sentence and its kind ("error" or "info") for the window's message bar

    def __init__(self, prompts: Callable[[], tuple[str, str]], set_prompts: Callable[[str, str], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._prompts, self._set_prompts = prompts, set_prompts
        self._styles: list[Style] = []
        self.ask_name: AskName = self._ask_name
        self.combo = QComboBox(objectName="styleCombo")
        self.combo.setToolTip(f"Styles from {styles_path().name}: a style's {{prompt}} is replaced by your prompt, "
                              "otherwise it is added after it")
        self.combo.setPlaceholderText("No styles yet")
        self.combo.setMinimumContentsLength(8)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.apply_button = QPushButton("Apply", objectName="applyStyleButton")
        self.apply_button.setToolTip("Apply the chosen style to the prompt and the negative prompt")
        self.apply_button.clicked.connect(self.apply_current)
        self.save_button = QPushButton("Save style…", objectName="saveStyleButton")
        self.save_button.setToolTip("Save the prompt and the negative prompt as a named style")
        self.save_button.clicked.connect(self.save_current)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.apply_button)
        layout.addWidget(self.save_button)
        self._show([])

    def styles(self) -> list[Style]:
        return list(self._styles)

    def reload(self) -> None:
        loaded = load_styles()
        self._show(loaded.styles)
        if loaded.notice:
            self.message.emit(loaded.notice, "error")

    def apply_current(self) -> None:
        index = self.combo.currentIndex()
        if 0 <= index < len(self._styles):
            self._set_prompts(*apply_style(self._styles[index], *self._prompts()))

    def save_current(self) -> None:
        prompt, negative = self._prompts()
        if not prompt and not negative:
            self.message.emit("Write a prompt first: a style is saved from the prompt and negative prompt.", "info")
            return
        name = self.ask_name(self.combo.currentText() if self._styles else "")
        name = (name or "").strip()
        if not name:
            return
        styles = with_style(self._styles, Style(name, prompt, negative))
        try:
            save_styles(styles)
        except OSError as exc:
            self.message.emit(f"The style could not be saved ({exc.strerror or exc}).", "error")
            return
        self._show(styles)
        self.combo.setCurrentIndex([s.name for s in styles].index(name))

    def _show(self, styles: list[Style]) -> None:
        self._styles = styles
        self.combo.clear()
        for style in styles:
            tip = style.prompt + (f"\nNegative: {style.negative_prompt}" if style.negative_prompt else "")
            self.combo.addItem(style.name)
            self.combo.setItemData(self.combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.combo.setCurrentIndex(0 if styles else -1)
        self.combo.setEnabled(bool(styles))
        self.apply_button.setEnabled(bool(styles))

    def _ask_name(self, suggestion: str) -> str | None:
        name, ok = QInputDialog.getText(self, "Save style", "Style name:", text=suggestion)
        return name if ok else None
