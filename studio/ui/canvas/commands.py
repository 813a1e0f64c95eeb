"""Undo history entries. Each one holds what it needs to go both ways: a mask rectangle's pixels,
a whole mask, or an image with its mask (QImages are implicitly shared, so unchanged data is not copied)."""

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand


class Command(QUndoCommand):
    """Runs ``do`` on redo and ``undo`` on undo. ``done=True`` when the change is already applied
    (a brush stroke painted live), so the first redo that QUndoStack.push triggers is skipped."""

    def __init__(self, text: str, do: Callable[[], None], undo: Callable[[], None], done: bool = False) -> None:
        super().__init__(text)
        self._do = do
        self._undo = undo
        self._skip_redo = done

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self._do()

    def undo(self) -> None:
        self._undo()
