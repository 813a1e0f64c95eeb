"""The prompt and the negative prompt."""

from PySide6.QtCore import QMimeData, Signal
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from studio.core.recipe import Recipe
from studio.core.settings import Settings
from studio.ui.canvas.loading import offers_image


class PromptEdit(QPlainTextEdit):
    """A plain text box that hands images on instead of inserting their file names: Ctrl+V of an image with
    no text on the clipboard, or a file or image dropped on it, goes to the canvas. Pasted text stays text."""

    image_offered = Signal(QMimeData, str)  # what was pasted or dropped, and what to call it in messages

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802 - Qt override
        return super().canInsertFromMimeData(source) or offers_image(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802 - Qt override
        if source.hasText() or not offers_image(source):
            super().insertFromMimeData(source)
        else:
            self.image_offered.emit(source, "pasted image")

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        mime = event.mimeData()
        if any(url.isLocalFile() for url in mime.urls()) or (offers_image(mime) and not mime.hasText()):
            event.acceptProposedAction()
            self.image_offered.emit(mime, "dropped image")
        else:
            super().dropEvent(event)


class PromptPanel(QWidget):
    image_offered = Signal(QMimeData, str)  # see PromptEdit

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prompt_edit = PromptEdit(objectName="promptEdit")
        self.prompt_edit.setPlaceholderText("Describe the image: subject, style, light...  (Ctrl+Enter generates)")
        self.prompt_edit.setTabChangesFocus(True)
        self.negative_edit = PromptEdit(objectName="negativePromptEdit")
        self.negative_edit.setPlaceholderText("What to avoid: blurry, extra fingers...")
        self.negative_edit.setTabChangesFocus(True)
        self.negative_edit.setMaximumHeight(self.fontMetrics().lineSpacing() * 4 + 12)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for edit in (self.prompt_edit, self.negative_edit):
            edit.image_offered.connect(self.image_offered)
        for label, edit in (("Prompt", self.prompt_edit), ("Negative prompt", self.negative_edit)):
            caption = QLabel(label)
            caption.setBuddy(edit)
            layout.addWidget(caption)
            layout.addWidget(edit)

    def prompt(self) -> str:
        return self.prompt_edit.toPlainText().strip()

    def negative_prompt(self) -> str:
        return self.negative_edit.toPlainText().strip()

    def set_prompts(self, prompt: str, negative: str) -> None:
        self.prompt_edit.setPlainText(prompt)
        self.negative_edit.setPlainText(negative)

    def apply_recipe(self, recipe: Recipe) -> None:
        self.set_prompts(recipe.prompt, recipe.negative_prompt)

    def load(self, settings: Settings) -> None:
        self.set_prompts(settings.prompt, settings.negative_prompt)

    def store(self, settings: Settings) -> None:
        settings.prompt = self.prompt_edit.toPlainText()
        settings.negative_prompt = self.negative_edit.toPlainText()
