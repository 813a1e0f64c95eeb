"""The "Get a model" guide for newcomers: a few well-known models with their sizes, one click from a download."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.paths import models_dir
from studio.core.starter_models import STARTER_MODELS, StarterModel

_INTRO = (
    "The app makes pictures with a model you download once. Stable Diffusion 1.5 is the easy start (small, fast, "
    "most add-ons are made for it); SDXL gives better pictures on a GPU with 8 GB or more. Files go to the "
    "models folder ({folder}); models you already have in AUTOMATIC1111/Forge or ComfyUI are used where they "
    "are (Models > Add a models folder…)."
)


def size_label(model: StarterModel) -> str:
    return f"about {model.size_gb:.2f} GB" if model.size_gb >= 1 else f"about {model.size_gb * 1000:.0f} MB"


class StarterModelsDialog(QDialog):
    download = Signal(str, object)  # source, ModelKind

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("starterModelsDialog")
        self.setWindowTitle("Get a model")
        self.setMinimumSize(640, 420)
        intro = QLabel(_INTRO.format(folder=models_dir()), objectName="starterIntro", wordWrap=True)
        self.tree = QTreeWidget(objectName="starterList", rootIsDecorated=False)
        self.tree.setHeaderLabels(["Model", "Kind", "Size"])
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        for model in STARTER_MODELS:
            item = QTreeWidgetItem([model.title, model.kind.label, size_label(model)])
            item.setData(0, Qt.ItemDataRole.UserRole, model)
            item.setToolTip(0, model.source)
            self.tree.addTopLevelItem(item)
        self.details = QLabel(objectName="starterDetails", wordWrap=True,
                              textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.download_button = QPushButton("Download…", objectName="starterDownloadButton", default=True)
        self.page_button = QPushButton("Open its page", objectName="starterPageButton")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, objectName="starterButtons")
        buttons.addButton(self.download_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.page_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.details)
        layout.addWidget(buttons)
        self.tree.currentItemChanged.connect(self._show)
        self.tree.itemDoubleClicked.connect(self._download)
        self.download_button.clicked.connect(self._download)
        self.page_button.clicked.connect(self._open_page)
        self.tree.setCurrentItem(self.tree.topLevelItem(0))

    def selected(self) -> StarterModel | None:
        item = self.tree.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item else None

    def _show(self, *_args) -> None:
        model = self.selected()
        self.details.setText(f"{model.about}\n{model.source}" if model else "")

    def _download(self, *_args) -> None:
        model = self.selected()
        if model:
            self.download.emit(model.source, model.kind)

    def _open_page(self) -> None:
        model = self.selected()
        if model:
            QDesktopServices.openUrl(QUrl(model.page))
