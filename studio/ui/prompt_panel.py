"""The prompt and the negative prompt: an editor for A1111's prompt syntax (highlighting, Ctrl+Up / Ctrl+Down
weights, a token count per 75-token chunk, a line about syntax that is read but not run, completion of LoRA and
embedding names), styles and clip skip."""

from PySide6.QtCore import QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QDropEvent, QKeyEvent, QTextCursor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QSpinBox, QVBoxLayout, QWidget

from studio.core.extra_networks import unsupported_network_refusal
from studio.core.model_info import ModelInfo
from studio.core.prompt_syntax import family_notices, prompt_notices
from studio.core.prompt_weights import change_weight
from studio.core.recipe import Recipe
from studio.core.request import MAX_CLIP_SKIP
from studio.core.settings import Settings
from studio.ui.canvas.loading import offers_image
from studio.ui.prompt_completion import PromptCompleter
from studio.ui.prompt_highlighter import PromptHighlighter
from studio.ui.styles_bar import StylesBar
from studio.ui.text_positions import qt_position, text_index
from studio.ui.token_counter import count_label

COUNT_DELAY_MS = 150  # the count follows typing after a pause, not on every key


NEGATIVE_PLACEHOLDER = "What to avoid: blurry, extra fingers..."

class PromptEdit(QPlainTextEdit):
    """A plain text box that hands images on instead of inserting their file names: Ctrl+V of an image with
    no text on the clipboard, or a file or image dropped on it, goes to the canvas. Pasted text stays text."""

    image_offered = Signal(QMimeData, str)  # what was pasted or dropped, and what to call it in messages

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.highlighter = PromptHighlighter(self.document())
        self.completion = PromptCompleter(self)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if self.completion.popup_takes(event):
            event.ignore()  # the completer's popup acts on it
            return
        control = event.modifiers() & Qt.KeyboardModifier.ControlModifier
        if control and event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.change_weight(up=event.key() == Qt.Key.Key_Up)
            event.accept()
            return
        super().keyPressEvent(event)
        if event.text():  # typed characters (not cursor moves or shortcuts) update the completion
            self.completion.follow_typing()

    def change_weight(self, up: bool) -> None:
        """A1111's Ctrl+Up / Ctrl+Down on the selection or the word under the cursor, as one undo step."""
        text = self.toPlainText()
        cursor = self.textCursor()
        start, end = text_index(text, cursor.selectionStart()), text_index(text, cursor.selectionEnd())
        edit = change_weight(text, start, end, up)
        if edit is None:
            return
        cursor.beginEditBlock()
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(edit.text)
        cursor.endEditBlock()
        cursor.setPosition(qt_position(edit.text, edit.start))
        cursor.setPosition(qt_position(edit.text, edit.end), QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(cursor)

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
    message = Signal(str, str)  # one sentence and its kind for the window's message bar (styles file problems)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prompt_edit = PromptEdit(objectName="promptEdit")
        self.prompt_edit.setPlaceholderText("Describe the image: subject, style, light...  (Ctrl+Enter generates)")
        self.prompt_edit.setToolTip("A1111 syntax: (word:1.2), ((word)), [word], BREAK. Ctrl+Up / Ctrl+Down "
                                    "changes the weight of the word under the cursor.")
        self.prompt_edit.setTabChangesFocus(True)
        self.negative_edit = PromptEdit(objectName="negativePromptEdit")
        self.negative_edit.setPlaceholderText(NEGATIVE_PLACEHOLDER)
        self.negative_edit.setTabChangesFocus(True)
        self.negative_edit.setMaximumHeight(self.fontMetrics().lineSpacing() * 4 + 12)
        self.prompt_count = _count_label("promptTokenCount")
        self.negative_count = _count_label("negativeTokenCount")
        self.notice_label = QLabel(objectName="promptNotice", wordWrap=True)
        self.notice_label.setStyleSheet("color: #e0b060;")
        self.notice_label.hide()
        self.styles_bar = StylesBar(self._texts, self._set_undoable)
        self.styles_bar.message.connect(self.message)
        self.clip_skip_spin = QSpinBox(objectName="clipSkipSpin")
        self.clip_skip_spin.setRange(1, MAX_CLIP_SKIP)
        self.clip_skip_spin.setToolTip("Clip skip: stop the text encoder this many layers from the end "
                                       "(1 = the last layer; many anime models want 2)")
        self._model: ModelInfo | None = None
        self._count_timer = QTimer(self, singleShot=True, interval=COUNT_DELAY_MS)
        self._count_timer.timeout.connect(self._update_counts)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for edit in (self.prompt_edit, self.negative_edit):
            edit.image_offered.connect(self.image_offered)
            edit.textChanged.connect(self._count_timer.start)
        for label, edit, count in (("Prompt", self.prompt_edit, self.prompt_count),
                                   ("Negative prompt", self.negative_edit, self.negative_count)):
            caption = QLabel(label)
            caption.setBuddy(edit)
            row = QHBoxLayout()
            row.addWidget(caption, 1)
            row.addWidget(count)
            layout.addLayout(row)
            layout.addWidget(edit)
            if edit is self.prompt_edit:
                layout.addWidget(self.notice_label)
        layout.addWidget(self.styles_bar)
        skip_row = QHBoxLayout()
        skip_caption = QLabel("Clip skip")
        skip_caption.setBuddy(self.clip_skip_spin)
        skip_row.addWidget(skip_caption)
        skip_row.addWidget(self.clip_skip_spin)
        skip_row.addStretch(1)
        layout.addLayout(skip_row)
        QTimer.singleShot(0, self.styles_bar.reload)  # after the window has connected ``message``
        self._count_timer.start()  # the first count (and the tokenizer load) waits until the window is up

    def set_network_names(self, loras: list[str], embeddings: list[str]) -> None:
        """The LoRA names and embedding words the library knows, for completion while typing."""
        for edit in (self.prompt_edit, self.negative_edit):
            edit.completion.set_names(loras, embeddings)

    def set_model(self, info: ModelInfo | None) -> None:
        """Follow the loaded model's family: a family without a negative prompt (Flux) says so in the box and
        sends none (the text stays for the next model); clip skip only applies to CLIP-only families."""
        self._model = info
        negative = info is None or info.controls.negative_prompt
        self.negative_edit.setEnabled(negative)
        self.negative_edit.setPlaceholderText(NEGATIVE_PLACEHOLDER if negative else
                                              f"{info.family.label} models have no negative prompt.")
        self.clip_skip_spin.setEnabled(info is None or not info.controls.prompt_note)
        self._count_timer.start()

    def prompt(self) -> str:
        return self.prompt_edit.toPlainText().strip()

    def negative_prompt(self) -> str:
        """The negative prompt a run uses: none when the model has none."""
        return self.negative_edit.toPlainText().strip() if self.negative_edit.isEnabled() else ""

    def request_fields(self) -> dict:
        return dict(prompt=self.prompt(), negative_prompt=self.negative_prompt(),
                    clip_skip=self.clip_skip_spin.value() if self.clip_skip_spin.isEnabled() else 1)

    def set_prompts(self, prompt: str, negative: str) -> None:
        self.prompt_edit.setPlainText(prompt)
        self.negative_edit.setPlainText(negative)

    def apply_recipe(self, recipe: Recipe) -> None:
        self.set_prompts(recipe.prompt, recipe.negative_prompt)
        self.clip_skip_spin.setValue(recipe.clip_skip)

    def load(self, settings: Settings) -> None:
        self.set_prompts(settings.prompt, settings.negative_prompt)
        self.clip_skip_spin.setValue(settings.clip_skip)

    def store(self, settings: Settings) -> None:
        settings.prompt = self.prompt_edit.toPlainText()
        settings.negative_prompt = self.negative_edit.toPlainText()
        settings.clip_skip = self.clip_skip_spin.value()

    def _texts(self) -> tuple[str, str]:
        return self.prompt(), self.negative_prompt()

    def _set_undoable(self, prompt: str, negative: str) -> None:
        """Replace both texts the way typing would, so that Ctrl+Z in each box takes a style back."""
        for edit, text in ((self.prompt_edit, prompt), (self.negative_edit, negative)):
            cursor = edit.textCursor()
            cursor.select(QTextCursor.SelectionType.Document)
            cursor.insertText(text)

    def _update_counts(self) -> None:
        prompt, negative = self.prompt_edit.toPlainText(), self.negative_edit.toPlainText()
        self.prompt_count.setText(count_label(prompt))
        self.negative_count.setText(count_label(negative))
        notices = [refusal] if (refusal := unsupported_network_refusal(prompt, negative)) else []
        notices += prompt_notices(prompt, negative)
        if self._model is not None:
            notices += family_notices(self._model, prompt, negative)
        self.notice_label.setText("\n".join(notices))
        self.notice_label.setVisible(bool(notices))


def _count_label(name: str) -> QLabel:
    label = QLabel(objectName=name)
    label.setToolTip("CLIP tokens in each 75-token chunk; a longer prompt is encoded in several chunks, and "
                     "BREAK starts a new one")
    label.setStyleSheet("color: #8a8a8a;")
    return label

