"""A non-modal message strip inside the window: errors and notices that do not block work, optionally with
one action (such as restoring the settings an opened image carries)."""

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

_STYLES = {
    "error": "QFrame#messageBar { background: #5c2326; border: 1px solid #a2434a; border-radius: 4px; }",
    "info": "QFrame#messageBar { background: #223b55; border: 1px solid #3f6d99; border-radius: 4px; }",
}


class MessageBar(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.text_label = QLabel(objectName="messageText", wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text_label.setStyleSheet("color: #f0f0f0;")
        self.action_button = QPushButton(objectName="messageActionButton")
        self.action_button.clicked.connect(self._act)
        self._action: Callable[[], None] | None = None
        self._kind = ""
        close = QToolButton(objectName="messageCloseButton", text="✕", autoRaise=True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.text_label, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str, kind: str = "error", action: tuple[str, Callable[[], None]] | None = None
                     ) -> None:
        """``action`` is a button label and what it does; the message goes away when it is clicked."""
        self._kind = kind
        self.setStyleSheet(_STYLES[kind])
        self.text_label.setText(text)
        self._action = None if action is None else action[1]
        self.action_button.setText("" if action is None else action[0])
        self.action_button.setVisible(action is not None)
        self.show()

    def hide_error(self) -> None:
        """Take an error away once it no longer holds (a notice stays)."""
        if self._kind == "error":
            self.hide()

    def kind(self) -> str:
        return self._kind if self.isVisible() else ""

    def text(self) -> str:
        return self.text_label.text() if self.isVisible() else ""

    def _act(self) -> None:
        action, self._action = self._action, None
        self.hide()
        if action is not None:
            action()
