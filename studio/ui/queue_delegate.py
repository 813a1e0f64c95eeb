"""How a queued job's row looks: the source thumbnail, the prompt, size/steps/seed, and the running job's
progress or a failed job's sentence."""

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionProgressBar, QStyleOptionViewItem

from studio.session.queue import JobState
from studio.ui.queue_model import DETAILS_ROLE, JOB_ROLE

THUMB = 48
PAD = 6
FAILED_COLOUR = QColor(220, 90, 80)


class QueueDelegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802 - Qt override
        # No width of its own: a list view's rows take the viewport's width, and the texts are elided to it. A
        # wider hint scrolled the one-thumbnail-wide dock sideways and cut the texts at its edge.
        return QSize(THUMB + 2 * PAD, THUMB + 2 * PAD)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        job = index.data(JOB_ROLE)
        if job is None:
            return
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget)
        painter.save()
        rect = option.rect.adjusted(PAD, PAD, -PAD, -PAD)
        thumb = QRect(rect.left(), rect.top(), THUMB, THUMB)
        self._paint_thumbnail(painter, option, thumb, job.thumbnail)
        text = rect.adjusted(THUMB + PAD, 0, 0, 0)
        line = text.height() // 3
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        colour = option.palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(colour)
        top = QRect(text.left(), text.top(), text.width(), line)
        painter.drawText(top, Qt.AlignmentFlag.AlignVCenter,
                         painter.fontMetrics().elidedText(index.data(), Qt.TextElideMode.ElideRight, top.width()))
        painter.setFont(option.font)
        middle = top.translated(0, line)
        painter.drawText(middle, Qt.AlignmentFlag.AlignVCenter, painter.fontMetrics().elidedText(
            index.data(DETAILS_ROLE), Qt.TextElideMode.ElideRight, middle.width()))
        bottom = middle.translated(0, line)
        if job.state is JobState.RUNNING:
            self._paint_progress(painter, option, bottom.adjusted(0, 2, 0, -2), job.progress)
        elif job.state is JobState.FAILED:
            painter.setPen(FAILED_COLOUR)
            painter.drawText(bottom, Qt.AlignmentFlag.AlignVCenter, painter.fontMetrics().elidedText(
                job.failure, Qt.TextElideMode.ElideRight, bottom.width()))
        painter.restore()

    @staticmethod
    def _paint_thumbnail(painter: QPainter, option: QStyleOptionViewItem, box: QRect, thumbnail) -> None:
        painter.fillRect(box, option.palette.color(QPalette.ColorRole.Base).darker(115))
        if thumbnail is None:  # text-to-image: no source
            painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "text")
            return
        size = thumbnail.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(0, 0, size.width(), size.height())
        target.moveCenter(box.center())
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(target, thumbnail)

    @staticmethod
    def _paint_progress(painter: QPainter, option: QStyleOptionViewItem, box: QRect, progress) -> None:
        bar = QStyleOptionProgressBar()
        bar.rect = box
        bar.minimum, bar.maximum = 0, progress.total if progress else 0  # 0..0: busy, before the first step
        bar.progress = progress.step if progress else 0
        bar.state = QStyle.StateFlag.State_Enabled
        bar.palette = option.palette
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)
