"""Colours for A1111 prompt syntax in the prompt editor: weight brackets and numbers, prompt-editing switches,
BREAK/AND, escapes and extra-network tags (``<lora:name:0.8>``), so that what the encoder will read differently stands out."""

import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from studio.ui.text_positions import qt_position


def _format(colour: str, bold: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(colour))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    return fmt


# (pattern, format name), applied in order: later rules win where they overlap.
RULES = [
    (re.compile(r"(?<!\\)[()\[\]]"), "bracket"),
    (re.compile(r"(?<!\\):\s*[+-]?[.\d]+\s*(?=\))"), "weight"),
    (re.compile(r"(?<!\\):\s*[+-]?[.\d]+\s*(?=\])|(?<!\\)[:|](?=[^\[\]]*\])"), "schedule"),  # [a:b:0.5], [a|b]
    (re.compile(r"\bBREAK\b|\bAND\b"), "keyword"),
    (re.compile(r"\\[()\[\]\\]"), "escape"),
    (re.compile(r"<\w+:[^>]+>"), "network"),
]


class PromptHighlighter(QSyntaxHighlighter):
    FORMATS = {
        "bracket": _format("#e0a050", bold=True),
        "weight": _format("#f0c060", bold=True),
        "keyword": _format("#6fb0ff", bold=True),
        "schedule": _format("#5fd0b0", bold=True),
        "escape": _format("#9a9a9a"),
        "network": _format("#c792ea", bold=True),
    }

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt override
        for pattern, name in RULES:
            for match in pattern.finditer(text):
                start, end = qt_position(text, match.start()), qt_position(text, match.end())
                self.setFormat(start, end - start, self.FORMATS[name])

