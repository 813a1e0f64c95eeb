"""The gallery: a virtualised icon view of the history (one row per image, only visible rows are painted).

:class:`HistoryModel` lists the history's entries; a row's thumbnail is asked of the :class:`ThumbnailLoader`
the first time the view paints it and shown when it comes, so opening or scrolling through 10,000 images costs
the GUI thread only the rows on screen. Recent thumbnails are kept as pixmaps (:data:`PIXMAPS_KEPT`).
Dragging rows out offers their files (to the canvas, or to another application).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QPersistentModelIndex, QSize, Qt, QUrl
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from studio.core.history_index import HistoryEntry
from studio.core.thumbnails import SIZE
from studio.session.history import History
from studio.session.thumbnail_loader import ThumbnailLoader

MAX_EDITS = 500  # rows that differ shown as inserts, removals and changes; beyond, the list is replaced
PIXMAPS_KEPT = 1500  # about 100 MB at most; a screenful is a few dozen
EntryRole = Qt.ItemDataRole.UserRole + 1
ModelIndex = QModelIndex | QPersistentModelIndex


class HistoryModel(QAbstractListModel):
    def __init__(self, history: History, loader: ThumbnailLoader, parent=None) -> None:
        super().__init__(parent)
        self._history = history
        self._loader = loader
        self._entries: tuple[HistoryEntry, ...] = ()
        self._rows: dict[str, int] = {}
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()  # by name; least recently shown first
        self._asked: set[str] = set()
        self._placeholder = QPixmap(SIZE, SIZE)
        self._placeholder.fill(QColor(60, 60, 66))
        history.entries_changed.connect(self.set_entries)
        history.favourites_changed.connect(self._favourites_changed)
        loader.ready.connect(self._thumbnail_ready)
        self.set_entries(history.entries)

    def set_entries(self, entries: tuple[HistoryEntry, ...]) -> None:
        """Show ``entries``: as rows inserted, removed and changed when few differ (the view keeps its scroll
        position and selection: a new output, a deletion), else as a new list (a new search)."""
        edits = _edits(self._entries, entries)
        if edits is None:
            self.beginResetModel()
            self._entries = entries
        else:
            current = list(self._entries)
            for kind, row, items in edits:
                if kind == "insert":
                    self.beginInsertRows(QModelIndex(), row, row + len(items) - 1)
                    current[row:row] = items
                    self._entries = tuple(current)
                    self.endInsertRows()
                elif kind == "remove":
                    self.beginRemoveRows(QModelIndex(), row, row + len(items) - 1)
                    del current[row:row + len(items)]
                    self._entries = tuple(current)
                    self.endRemoveRows()
            self._entries = entries
        self._rows = {entry.name: row for row, entry in enumerate(entries)}
        self._asked &= self._rows.keys()
        if edits is None:
            self.endResetModel()
        else:
            for kind, row, items in edits:
                if kind == "change":
                    self._pixmaps.pop(items[0].name, None)  # the file changed: its thumbnail too
                    self.dataChanged.emit(self.index(row), self.index(row + len(items) - 1))

    def entry(self, row: int) -> HistoryEntry | None:
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def row_of(self, name: str) -> int | None:
        return self._rows.get(name)

    def entries(self) -> tuple[HistoryEntry, ...]:
        return self._entries

    # -- QAbstractListModel ---------------------------------------------------------------------------------
    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt override
        return 0 if parent.isValid() else len(self._entries)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        entry = self.entry(index.row())
        if entry is None:
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pixmap(entry)
        if role == Qt.ItemDataRole.DisplayRole:
            star = "★ " if entry.name in self._history.favourites else ""
            return f"{star}{entry.seed if entry.seed is not None else Path(entry.name).stem}"
        if role == Qt.ItemDataRole.ToolTipRole:
            prompt = entry.prompt if len(entry.prompt) <= 300 else f"{entry.prompt[:300]}…"
            made = " · ".join(part for part in (entry.model, entry.mode) if part)
            return "\n".join(part for part in (entry.name, prompt, made) if part)
        if role == EntryRole:
            return entry
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt override
        return ["text/uri-list"]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # noqa: N802 - Qt override
        mime = QMimeData()
        rows = sorted({index.row() for index in indexes})
        mime.setUrls([QUrl.fromLocalFile(str(self._history.path(self._entries[row].name))) for row in rows])
        return mime

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802 - Qt override
        return Qt.DropAction.CopyAction

    # -- thumbnails -----------------------------------------------------------------------------------------
    def _pixmap(self, entry: HistoryEntry) -> QPixmap:
        pixmap = self._pixmaps.get(entry.name)
        if pixmap is not None:
            self._pixmaps.move_to_end(entry.name)
            return pixmap
        if entry.name not in self._asked:
            self._asked.add(entry.name)
            self._loader.request(self._history.path(entry.name), entry.mtime_ns, entry.size)
        return self._placeholder

    def _thumbnail_ready(self, key: str, image: QImage) -> None:
        name = Path(key).name
        self._asked.discard(name)
        row = self._rows.get(name)
        if row is None:
            return
        self._pixmaps[name] = QPixmap.fromImage(image) if not image.isNull() else self._placeholder
        while len(self._pixmaps) > PIXMAPS_KEPT:
            self._pixmaps.popitem(last=False)
        index = self.index(row)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def _favourites_changed(self, _names) -> None:
        if self._entries:
            self.dataChanged.emit(self.index(0), self.index(len(self._entries) - 1), [Qt.ItemDataRole.DisplayRole])


def _edits(old: tuple[HistoryEntry, ...], new: tuple[HistoryEntry, ...]) -> list | None:
    """The inserts, removals and changes (``(kind, row, entries)``, rows as the list stands when each is made)
    that turn ``old`` into ``new``, both ordered newest first; None when more than :data:`MAX_EDITS` rows differ."""
    edits: list = []
    i = j = row = differing = 0
    while i < len(old) or j < len(new):
        if differing > MAX_EDITS:
            return None
        differing += 1
        if i < len(old) and j < len(new) and old[i].name == new[j].name and old[i].mtime_ns == new[j].mtime_ns:
            if old[i] != new[j]:
                _add(edits, "change", row, new[j])
            else:
                differing -= 1
            i, j, row = i + 1, j + 1, row + 1
        elif j < len(new) and (i == len(old) or _newer(new[j], old[i])):
            _add(edits, "insert", row, new[j])
            j, row = j + 1, row + 1
        else:
            _add(edits, "remove", row, old[i])
            i += 1
    return edits


def _newer(a: HistoryEntry, b: HistoryEntry) -> bool:
    """``a`` comes before ``b`` in the index's order (ORDER BY mtime_ns DESC, name DESC)."""
    return (a.mtime_ns, a.name) > (b.mtime_ns, b.name)


def _add(edits: list, kind: str, row: int, entry: HistoryEntry) -> None:
    """Append an edit, joining it to the one before when they make one run of rows."""
    if edits:
        last_kind, last_row, items = edits[-1]
        if last_kind == kind and row == last_row + (0 if kind == "remove" else len(items)):
            items.append(entry)
            return
    edits.append((kind, row, [entry]))


class HistoryView(QListView):
    """The gallery's view: a grid of uniform cells, wrapping to the dock's width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyView")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setUniformItemSizes(True)  # the view lays out 10,000 rows without asking each for its size
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWrapping(True)
        self.setIconSize(QSize(SIZE, SIZE))
        self.setGridSize(QSize(SIZE + 12, SIZE + 26))
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
