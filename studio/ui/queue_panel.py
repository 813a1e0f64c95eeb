"""The Queue dock: the jobs in the order they run (drag to reorder), and buttons to pause or resume the queue,
retry a failed job, remove one, and cancel the running one.

It stays out of the way until there is something to see (the canvas keeps its room on a small screen): it
appears when a job waits behind another and when a job fails, and its close button hides it until then."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QGridLayout,
    QLabel,
    QListView,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.session.queue import JobQueue, JobState
from studio.ui.queue_delegate import QueueDelegate
from studio.ui.queue_model import JOB_ROLE, QueueModel


class QueuePanel(QDockWidget):
    def __init__(self, queue: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__("Queue", parent)
        self.setObjectName("queueDock")
        self.queue = queue
        self.model = QueueModel(queue)
        self.view = QListView(objectName="queueView")
        self.view.setModel(self.model)
        self.view.setItemDelegate(QueueDelegate(self.view))
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # the rows elide their texts
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.view.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.view.setDropIndicatorShown(True)
        self.view.setToolTip("Jobs run from the top; drag one to change the order.")
        self.summary = QLabel(objectName="queueSummaryLabel")
        self.pause_button = QToolButton(text="Pause", objectName="queuePauseButton", checkable=True)
        self.pause_button.setToolTip("Pause the queue: the running job finishes, no other starts")
        self.retry_button = QToolButton(text="Retry", objectName="queueRetryButton")
        self.retry_button.setToolTip("Run the failed job again")
        self.remove_button = QToolButton(text="Remove", objectName="queueRemoveButton")
        self.remove_button.setToolTip("Take the job out of the queue (Delete)")
        self.cancel_button = QToolButton(text="Cancel", objectName="queueCancelButton")
        self.cancel_button.setToolTip("Cancel the running job (Esc); the queue pauses")

        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(self.summary)
        column.addWidget(self.view, 1)
        buttons = QGridLayout()  # two by two: the dock stays narrow beside the canvas
        for i, button in enumerate((self.pause_button, self.cancel_button, self.retry_button, self.remove_button)):
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            buttons.addWidget(button, i // 2, i % 2)
        column.addLayout(buttons)
        self.setWidget(body)

        self.pause_button.toggled.connect(self._pause_toggled)
        self.retry_button.clicked.connect(lambda: self._on_selected(queue.retry))
        self.remove_button.clicked.connect(lambda: self._on_selected(queue.remove))
        self.cancel_button.clicked.connect(queue.cancel_running)
        QShortcut(QKeySequence.StandardKey.Delete, self.view, lambda: self._on_selected(queue.remove),
                  context=Qt.ShortcutContext.WidgetShortcut)
        queue.paused_changed.connect(self._update)
        for signal in (self.model.rowsInserted, self.model.rowsRemoved, self.model.rowsMoved, self.model.dataChanged):
            signal.connect(self._update)
        self.view.selectionModel().currentChanged.connect(self._update)
        self.model.rowsInserted.connect(self._reveal_if_waiting)
        queue.job_changed.connect(self._reveal_if_failed)
        self._update()

    def show_if_needed(self) -> None:
        """Shown when jobs are in the queue (restored ones at start), hidden otherwise."""
        self.setVisible(bool(self.queue.jobs))

    def selected_row(self) -> int:
        index = self.view.currentIndex()
        return index.row() if index.isValid() else -1

    def _on_selected(self, command) -> None:
        if (row := self.selected_row()) >= 0:
            command(row)

    def _reveal_if_waiting(self, *_) -> None:
        if self.queue.running() is not None and self.queue.waiting():
            self.show()

    def _reveal_if_failed(self, row: int) -> None:
        if self.queue.jobs[row].state is JobState.FAILED:
            self.show()

    def _pause_toggled(self, paused: bool) -> None:
        if paused:
            self.queue.pause()
        else:
            self.queue.resume()

    def _update(self, *_) -> None:
        queue = self.queue
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(queue.paused)
        self.pause_button.setText("Resume" if queue.paused else "Pause")
        self.pause_button.blockSignals(False)
        running = queue.running()
        waiting = queue.waiting()
        state = "paused" if queue.paused else ("running" if running else "idle")
        self.summary.setText(f"{waiting} waiting · {state}")
        row = self.selected_row()
        job = self.model.index(row).data(JOB_ROLE) if row >= 0 else None
        self.retry_button.setEnabled(job is not None and job.state is JobState.FAILED)
        self.remove_button.setEnabled(job is not None and job.state is not JobState.RUNNING)
        self.cancel_button.setEnabled(running is not None)
