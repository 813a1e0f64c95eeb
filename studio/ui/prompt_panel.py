"""The prompt and the negative prompt."""

from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from studio.core.recipe import Recipe
from studio.core.settings import Settings


class PromptPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prompt_edit = QPlainTextEdit(objectName="promptEdit")
        self.prompt_edit.setPlaceholderText("Describe the image: subject, style, light...  (Ctrl+Enter generates)")
        self.prompt_edit.setTabChangesFocus(True)
        self.negative_edit = QPlainTextEdit(objectName="negativePromptEdit")
        self.negative_edit.setPlaceholderText("What to avoid: blurry, extra fingers...")
        self.negative_edit.setTabChangesFocus(True)
        self.negative_edit.setMaximumHeight(self.fontMetrics().lineSpacing() * 4 + 12)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
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
