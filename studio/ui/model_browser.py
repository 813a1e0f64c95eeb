"""The model browser: what the library found, by kind, with family, size, preview and trigger words.

A non-modal dialog over the session's :class:`ModelLibrary`; it keeps no model state of its own. Its actions
are signals the window connects: use a checkpoint (load it) or a VAE (choose it), insert a LoRA tag or an
embedding's word (and trigger words) into the prompt; "Show in folder" shows the file selected in the file manager.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.model_folders import ModelKind
from studio.core.model_scan import ModelEntry
from studio.ui.file_reveal import reveal_file
from studio.session.library import ModelLibrary

PREVIEW_SIZE = QSize(192, 192)
_COLUMNS = ("Name", "Kind", "Family", "Size")


def size_text(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def prompt_text(entry: ModelEntry) -> str:
    """What "Insert into prompt" writes: A1111's tag for a LoRA, the word for an embedding."""
    if entry.kind is ModelKind.LORA:
        return f"<lora:{entry.name}:1>"
    return entry.path.stem


class ModelBrowser(QDialog):
    use_checkpoint = Signal(str)  # a path to load
    use_vae = Signal(str)  # a VAE's library name
    insert_text = Signal(str)  # text for the prompt

    def __init__(self, library: ModelLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelBrowser")
        self.setWindowTitle("Model library")
        self._library = library
        self.kind_combo = QComboBox(objectName="browserKindCombo")
        self.kind_combo.addItem("All kinds", None)
        for kind in ModelKind:
            self.kind_combo.addItem(kind.label, kind.value)
        self.search_edit = QLineEdit(objectName="browserSearchEdit", placeholderText="Search by name")
        self.search_edit.setClearButtonEnabled(True)
        self.tree = QTreeWidget(objectName="browserList", rootIsDecorated=False)  # by kind, then name
        self.tree.setHeaderLabels(list(_COLUMNS))
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(_COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.preview = QLabel(objectName="browserPreview", alignment=Qt.AlignmentFlag.AlignCenter)
        self.preview.setFixedSize(PREVIEW_SIZE)
        self.details = QLabel(objectName="browserDetails", wordWrap=True,
                              textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setMinimumWidth(PREVIEW_SIZE.width())
        self.use_button = QPushButton("Use", objectName="browserUseButton")
        self.insert_button = QPushButton("Insert into prompt", objectName="browserInsertButton")
        self.triggers_button = QPushButton("Insert trigger words", objectName="browserTriggersButton")
        self.folder_button = QPushButton("Show in folder", objectName="browserFolderButton")
        self.rescan_button = QPushButton("Rescan", objectName="browserRescanButton")
        self.status = QLabel(objectName="browserStatus")
        self._lay_out()
        self.kind_combo.currentIndexChanged.connect(lambda _i: self._fill())
        self.search_edit.textChanged.connect(lambda _t: self._fill())
        self.tree.currentItemChanged.connect(lambda _item, _old: self._selected())
        self.tree.itemDoubleClicked.connect(lambda _item, _column: self._use())
        self.use_button.clicked.connect(self._use)
        self.insert_button.clicked.connect(lambda: self._insert(prompt_text))
        self.triggers_button.clicked.connect(lambda: self._insert(lambda e: ", ".join(e.triggers)))
        self.folder_button.clicked.connect(self._show_in_folder)
        self.rescan_button.clicked.connect(library.rescan)
        library.entries_changed.connect(lambda _entries: self._fill())
        library.scanning_changed.connect(lambda _scanning: self._show_status())
        self.resize(760, 480)
        self._fill()

    def _lay_out(self) -> None:
        filters = QHBoxLayout()
        filters.addWidget(self.kind_combo)
        filters.addWidget(self.search_edit, 1)
        filters.addWidget(self.rescan_button)
        side = QVBoxLayout()
        side.addWidget(self.preview)
        side.addWidget(self.details, 1)
        for button in (self.use_button, self.insert_button, self.triggers_button, self.folder_button):
            side.addWidget(button)
        body = QHBoxLayout()
        body.addWidget(self.tree, 1)
        body.addLayout(side)
        column = QVBoxLayout(self)
        column.addLayout(filters)
        column.addLayout(body, 1)
        column.addWidget(self.status)

    # -- what is shown -------------------------------------------------------------------------------
    def visible_entries(self) -> list[ModelEntry]:
        return [self.tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) for i in range(self.tree.topLevelItemCount())]

    def current_entry(self) -> ModelEntry | None:
        item = self.tree.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None

    def _fill(self) -> None:
        kind = self.kind_combo.currentData()
        words = self.search_edit.text().lower().split()
        current = self.current_entry()
        self.tree.clear()
        for entry in self._library.entries:
            if (kind and entry.kind.value != kind) or not all(w in entry.name.lower() for w in words):
                continue
            item = QTreeWidgetItem([entry.name, entry.kind.label, entry.family_label, size_text(entry.size)])
            item.setData(0, Qt.ItemDataRole.UserRole, entry)
            item.setToolTip(0, entry.problem or str(entry.path))
            self.tree.addTopLevelItem(item)
            if current is not None and entry.path == current.path:
                self.tree.setCurrentItem(item)
        self._selected()
        self._show_status()

    def _show_status(self) -> None:
        shown, total = self.tree.topLevelItemCount(), len(self._library.entries)
        scanning = " Scanning the model folders..." if self._library.scanning else ""
        self.status.setText(f"{shown} of {total} models.{scanning}")

    def _selected(self) -> None:
        entry = self.current_entry()
        for button in (self.use_button, self.insert_button, self.triggers_button, self.folder_button):
            button.setEnabled(entry is not None)
        if entry is None:
            self.preview.clear()
            self.details.setText("")
            return
        usable = entry.problem is None
        self.use_button.setEnabled(usable and entry.kind in (ModelKind.CHECKPOINT, ModelKind.VAE))
        self.insert_button.setEnabled(usable and entry.kind in (ModelKind.LORA, ModelKind.EMBEDDING))
        self.triggers_button.setEnabled(bool(entry.triggers))
        pixmap = QPixmap(str(entry.preview)) if entry.preview else QPixmap()
        if pixmap.isNull():
            self.preview.setText("No preview")
        else:
            self.preview.setPixmap(pixmap.scaled(PREVIEW_SIZE, Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation))
        lines = [f"{entry.name}", f"{entry.kind.label}, {entry.family_label}, {size_text(entry.size)}"]
        if entry.triggers:
            lines.append("Trigger words: " + ", ".join(entry.triggers))
        digest = self._library.hash_of(entry)
        if digest:
            lines.append(f"Hash: {digest[:12]}")
        if entry.problem:
            lines.append(entry.problem)
        self.details.setText("<br>".join(f"<b>{_escape(line)}</b>" if not i else _escape(line)
                                         for i, line in enumerate(lines)))

    # -- actions -------------------------------------------------------------------------------------
    def _use(self) -> None:
        entry = self.current_entry()
        if entry is None or entry.problem:
            return
        if entry.kind is ModelKind.CHECKPOINT:
            self.use_checkpoint.emit(str(entry.path))
        elif entry.kind is ModelKind.VAE:
            self.use_vae.emit(entry.name)
        elif entry.kind in (ModelKind.LORA, ModelKind.EMBEDDING):
            self._insert(prompt_text)

    def _insert(self, text_of) -> None:
        entry = self.current_entry()
        if entry is not None and text_of(entry):
            self.insert_text.emit(text_of(entry))

    def _show_in_folder(self) -> None:
        entry = self.current_entry()
        if entry is not None:
            self.reveal(entry.path)

    def reveal(self, path) -> None:
        """The file manager with ``path`` selected; replaced in tests."""
        reveal_file(path)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
