"""The actions for a finished result shown over the canvas: keep working from it, or go back to the source."""

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget


class ResultBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultBar")
        self.label = QLabel("Showing the result.", objectName="resultLabel")
        self.use_button = QPushButton("Use result as input", objectName="useResultButton")
        self.use_button.setToolTip("Put the result on the canvas as the new source, keeping the mask "
                                   "(Ctrl+Z goes back to the previous image).")
        self.source_button = QPushButton("Show source", objectName="showSourceButton")
        self.source_button.setToolTip("Hide the result and show the canvas image and its mask again.")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.source_button)
        layout.addWidget(self.use_button)
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # the canvas keeps its size (and its view) when a result shows
        self.setSizePolicy(policy)
        self.hide()
