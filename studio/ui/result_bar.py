"""The actions for a result shown over the canvas: keep working from it, or look at the source and back."""

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget


class ResultBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultBar")
        self._name = ""
        self.label = QLabel("Showing the result.", objectName="resultLabel")
        # The label gives way on a narrow window (the buttons stay whole): the stage never forces the window wider.
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.use_button = QPushButton("Use result as input", objectName="useResultButton")
        self.use_button.setToolTip("Put the result on the canvas as the new source, keeping the mask "
                                   "(Ctrl+Z goes back to the previous image).")
        self.source_button = QPushButton("Show source", objectName="showSourceButton")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.source_button)
        layout.addWidget(self.use_button)
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # the canvas keeps its size (and its view) when a result shows
        self.setSizePolicy(policy)
        self.set_showing(False, False)

    def set_result(self, name: str) -> None:
        self._name = name

    def set_showing(self, showing: bool, has_result: bool) -> None:
        """``showing``: the result is over the canvas; else, with ``has_result``, it is hidden behind the source
        (the button brings it back)."""
        self.setVisible(showing or has_result)
        self.use_button.setEnabled(showing)
        if showing:
            self.label.setText(f"Showing {self._name}.")
            self.source_button.setText("Show source")
            self.source_button.setToolTip("Show the canvas image and its mask (the result stays one click away).")
        else:
            self.label.setText(f"Showing the source; {self._name} is one click away.")
            self.source_button.setText("Show result")
            self.source_button.setToolTip(f"Show {self._name} over the canvas again.")
