"""A non-modal message strip inside the window: errors and notices that do not block work."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

_STYLES = {
    "error": "QFrame#messageBar { background: #5c2326; border: 1px solid #a2434a; border-radius: 4px; }",
    "info": "QFrame#messageBar { background: #223b55; border: 1px solid #3f6d99; border-radius: 4px; }",
}


class MessageBar(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.text_label = QLabel(objectName="messageText", wordWrap=True)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text_label.setStyleSheet("color: #f0f0f0;")
        close = QToolButton(objectName="messageCloseButton", text="✕", autoRaise=True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.text_label, 1)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        self.setStyleSheet(_STYLES[kind])
        self.text_label.setText(text)
        self.show()

    def text(self) -> str:
        return self.text_label.text() if self.isVisible() else ""
