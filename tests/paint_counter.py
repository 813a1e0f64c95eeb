"""Counting a widget's Paint events: how tests and benchmarks see that something was (or was not) drawn."""

from PySide6.QtCore import QEvent, QObject


class PaintCounter(QObject):
    def __init__(self, widget) -> None:
        super().__init__()
        self.count = 0
        self._widget = widget
        widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False

    def stop(self) -> int:
        """Stop counting; the count so far."""
        self._widget.removeEventFilter(self)
        return self.count
