"""What looking at the window under Xvfb found (scripted engine): the menu bar's order, the Engine menu's
explanations on hover, and the History and Queue docks at 1024x700."""

import sys

from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QComboBox, QStyle, QStyleOptionComboBox, QToolTip

from studio.core.backends import INT8_INSTALL
from studio.core.queue_store import QueueStore, StoredJob
from studio.core.request import GenerationRequest
from tests.ui.fakes import FakeEngine


def test_help_is_the_last_menu_and_view_before_it(open_window):
    window = open_window(make_engine=FakeEngine, show=False)
    titles = [action.text() for action in window.menuBar().actions()]
    assert titles == ["&File", "&Edit", "E&ngine", "&Models", "&View", "&Help"]


def test_a_greyed_out_engine_item_says_on_hover_what_to_install(open_window, qtbot, monkeypatch):
    monkeypatch.setitem(sys.modules, "nncf", None)  # as if it were not installed
    window = open_window(make_engine=FakeEngine)
    menu, action = window.backend_menu.menu, window.backend_menu.int8_action
    menu.popup(window.mapToGlobal(QPoint(40, 40)))
    qtbot.waitExposed(menu)
    centre = menu.actionGeometry(action).center()
    QApplication.sendEvent(menu, QHelpEvent(QEvent.Type.ToolTip, centre, menu.mapToGlobal(centre)))
    assert not action.isEnabled()
    qtbot.waitUntil(lambda: INT8_INSTALL in QToolTip.text())
    menu.hide()


def _text_room(combo: QComboBox) -> int:
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    return combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                        QStyle.SubControl.SC_ComboBoxEditField, combo).width()


def test_at_1024x700_the_history_filters_show_their_whole_texts(open_window, qtbot):
    panel = _small_window(open_window, qtbot).history_binding.panel
    for combo in (panel.mode_filter, panel.date_filter):
        widest = max(combo.fontMetrics().horizontalAdvance(combo.itemText(i)) for i in range(combo.count()))
        assert widest <= _text_room(combo), combo.objectName()


def _small_window(open_window, qtbot):
    window = open_window(make_engine=FakeEngine, show=False)
    window.resize(1024, 700)
    window.show()
    qtbot.waitUntil(lambda: window.width() == 1024)
    return window


def test_at_1024x700_queued_jobs_fit_the_queue_dock_without_scrolling_sideways(open_window, qtbot):
    request = GenerationRequest(prompt="a lighthouse on a cliff at dusk, storm clouds", width=64, height=64)
    QueueStore().save([StoredJob(f"{i:012x}", request) for i in range(2)])  # they come back, paused
    window = _small_window(open_window, qtbot)
    dock, view = window.queue_panel, window.queue_panel.view
    assert dock.isVisible() and view.model().rowCount() == 2
    narrowest = window.history_binding.dock.minimumSizeHint().width()  # the docks share their column
    window.resizeDocks([dock], [narrowest], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: dock.width() < 220)
    qtbot.waitUntil(lambda: view.visualRect(view.model().index(0)).isValid())
    assert not view.horizontalScrollBar().isVisible()
    assert view.visualRect(view.model().index(0)).right() < view.viewport().width()
