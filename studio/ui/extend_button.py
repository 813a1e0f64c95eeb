""""Extend canvas": a button with a small popup asking how far to grow the canvas on each side (outpainting)."""

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QMenu, QPushButton, QSpinBox, QWidget, QWidgetAction

MAX_MARGIN = 4096
SIDES = ("left", "top", "right", "bottom")


class ExtendButton(QPushButton):
    extend = Signal(int, int, int, int)  # left, top, right, bottom, in image pixels

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("extendButton")
        self.setText("Extend canvas")
        self.setToolTip("Outpainting: grow the canvas; the new area is pre-filled from the edges and masked.")

        form = QWidget()
        grid = QGridLayout(form)
        grid.setContentsMargins(10, 10, 10, 10)
        self.spins = {side: self._spin(side, arrow) for side, arrow in zip(SIDES, "←↑→↓")}
        grid.addWidget(self.spins["top"], 0, 1)
        grid.addWidget(self.spins["left"], 1, 0)
        grid.addWidget(QLabel("image", alignment=Qt.AlignmentFlag.AlignCenter), 1, 1)
        grid.addWidget(self.spins["right"], 1, 2)
        grid.addWidget(self.spins["bottom"], 2, 1)
        self.apply_button = QPushButton("Extend", objectName="extendApplyButton")
        self.apply_button.setToolTip("Grow the canvas by these margins (Ctrl+Z undoes it)")
        self.apply_button.clicked.connect(self._apply)
        grid.addWidget(self.apply_button, 3, 0, 1, 3)
        for spin in self.spins.values():
            spin.valueChanged.connect(self._margins_changed)
        self._margins_changed()

        menu = QMenu(self)
        action = QWidgetAction(menu)
        action.setDefaultWidget(form)
        menu.addAction(action)
        self.setMenu(menu)

    def margins(self) -> tuple[int, int, int, int]:
        return tuple(self.spins[side].value() for side in SIDES)

    def _spin(self, side: str, arrow: str) -> QSpinBox:
        spin = QSpinBox(objectName=f"extend{side.title()}Spin", minimum=0, maximum=MAX_MARGIN, singleStep=64)
        spin.setPrefix(f"{arrow} ")
        spin.setSuffix(" px")
        spin.setToolTip(f"Pixels to add on the {side}")
        spin.setAccessibleName(f"Extend {side}")
        return spin

    def _margins_changed(self) -> None:
        self.apply_button.setEnabled(any(self.margins()))

    def _apply(self) -> None:
        self.menu().close()
        self.extend.emit(*self.margins())
