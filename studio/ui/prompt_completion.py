"""Completing LoRA tags and embedding words from the model library while a prompt is typed.

Typing ``<lora:`` offers the library's LoRAs, completed to ``<lora:NAME:1>``; typing two or more letters of a
word offers the embeddings whose word starts with them. Qt's custom-completer pattern: while the popup is open,
Enter takes the highlighted name, Esc closes it, and every other key keeps typing.
"""

import re

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import QCompleter, QPlainTextEdit

_LORA_PREFIX = re.compile(r"<lora:[^<>:\s]*$", re.IGNORECASE)
_WORD_PREFIX = re.compile(r"(?<![\w.-])[\w.-]{2,}$")
_POPUP_KEYS = {Qt.Key.Key_Enter, Qt.Key.Key_Return, Qt.Key.Key_Escape, Qt.Key.Key_Tab, Qt.Key.Key_Backtab}


def completion_prefix(before_cursor: str) -> tuple[str, str] | None:
    """``("lora", "<lora:in")`` or ``("word", "easyn")`` for the text before the cursor, else None."""
    if match := _LORA_PREFIX.search(before_cursor):
        return "lora", match[0]
    if before_cursor.rfind("<") > before_cursor.rfind(">"):
        return None  # inside another tag (a weight, another kind): nothing to offer
    if match := _WORD_PREFIX.search(before_cursor):
        return "word", match[0]
    return None


class PromptCompleter:
    def __init__(self, edit: QPlainTextEdit) -> None:
        self._edit = edit
        self._choices: dict[str, list[str]] = {"lora": [], "word": []}
        self._prefix = ""
        self._model = QStringListModel()
        self.completer = QCompleter(self._model, edit)
        self.completer.setWidget(edit)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.activated.connect(self._insert)

    def set_names(self, loras: list[str], embeddings: list[str]) -> None:
        self._choices = {"lora": [f"<lora:{name}:1>" for name in sorted(loras)], "word": sorted(embeddings)}

    def popup_takes(self, event: QKeyEvent) -> bool:
        """Whether the open popup handles this key (the editor then leaves it alone)."""
        return self.completer.popup().isVisible() and event.key() in _POPUP_KEYS

    def follow_typing(self) -> None:
        """After a key: offer what completes the text before the cursor, or close the popup."""
        cursor = self._edit.textCursor()
        block = cursor.block().text()[: cursor.positionInBlock()]
        found = completion_prefix(block)
        choices = self._choices[found[0]] if found else []
        if not choices:
            self.completer.popup().hide()
            return
        self._prefix = found[1]
        self._model.setStringList(choices)
        self.completer.setCompletionPrefix(self._prefix)
        if self.completer.completionCount() == 0:
            self.completer.popup().hide()
            return
        popup = self.completer.popup()
        popup.setCurrentIndex(self.completer.completionModel().index(0, 0))
        rect = self._edit.cursorRect()
        rect.setWidth(popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width())
        self.completer.complete(rect)

    def _insert(self, completion: str) -> None:
        cursor = self._edit.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, len(self._prefix))
        cursor.insertText(completion)
        self._edit.setTextCursor(cursor)
