"""The queue as a Qt list model: one row per waiting, running or failed job, reordered by dragging.

The model mirrors the :class:`JobQueue`'s list and follows its signals, updating the mirror between
``begin*``/``end*`` calls so that views always see a consistent list. A drag within the view ends in
:meth:`QueueModel.moveRows` (QListView's internal move), which asks the queue to move the job.
"""

from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from studio.session.queue import JobQueue, JobState, QueuedJob

JOB_ROLE = Qt.ItemDataRole.UserRole  # the QueuedJob of a row
DETAILS_ROLE = Qt.ItemDataRole.UserRole + 1  # size, steps, seed, and its state in words

Index = QModelIndex | QPersistentModelIndex


def job_details(job: QueuedJob) -> str:
    request = job.request
    size = f"{job.source.width()}×{job.source.height()}" if job.source is not None else f"{request.width}×{request.height}"
    parts = [size, f"{request.steps} steps", f"seed {request.seed}"]
    if request.batch_size > 1:
        parts.append(f"batch {request.batch_size}")
    parts.append(job.mode.value)
    if job.state is JobState.RUNNING:
        parts.append(f"step {job.progress.step}/{job.progress.total}" if job.progress else "starting")
    elif job.state is JobState.FAILED:
        parts.append("failed")
    return " · ".join(parts)


class QueueModel(QAbstractListModel):
    def __init__(self, queue: JobQueue) -> None:
        super().__init__(queue)
        self._queue = queue
        self._rows = list(queue.jobs)
        queue.job_inserted.connect(self._inserted)
        queue.job_removed.connect(self._removed)
        queue.job_moved.connect(self._moved)
        queue.job_changed.connect(self._changed)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        job = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return job.request.prompt or "(no prompt)"
        if role == Qt.ItemDataRole.DecorationRole:
            return job.thumbnail
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [job.request.prompt or "(no prompt)", job_details(job)]
            if job.model:
                lines.append(f"Model: {Path(job.model).name or job.model}")
            return "\n".join(lines + ([job.failure] if job.failure else []))
        if role == JOB_ROLE:
            return job
        if role == DETAILS_ROLE:
            return job_details(job)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled  # drops go between rows, never onto one
        return super().flags(index) | Qt.ItemFlag.ItemIsDragEnabled

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802 - Qt override
        return Qt.DropAction.MoveAction

    def moveRows(self, source_parent: Index, row: int, count: int, destination_parent: Index,  # noqa: N802
                 destination: int) -> bool:
        """Qt's meaning: the row goes before ``destination`` (a row of the list as it was before the move)."""
        if count != 1 or source_parent.isValid() or destination_parent.isValid():
            return False
        return self._queue.move(row, destination if destination <= row else destination - 1)

    # -- following the queue -------------------------------------------------------------------
    def _inserted(self, row: int) -> None:
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows = list(self._queue.jobs)
        self.endInsertRows()

    def _removed(self, row: int) -> None:
        self.beginRemoveRows(QModelIndex(), row, row)
        self._rows = list(self._queue.jobs)
        self.endRemoveRows()

    def _moved(self, row: int, to: int) -> None:
        self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), to if to < row else to + 1)
        self._rows = list(self._queue.jobs)
        self.endMoveRows()

    def _changed(self, row: int) -> None:
        index = self.index(row)
        self.dataChanged.emit(index, index)
