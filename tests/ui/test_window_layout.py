"""What looking at the window under Xvfb found (scripted engine): the menu bar's order, the Engine menu's
explanations on hover, and every control inside the window at 1024x700."""

import sys

from PySide6.QtCore import QEvent, QPoint
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QComboBox, QStyle, QStyleOptionComboBox, QToolTip

from studio.core.backends import INT8_INSTALL
from tests.ui.fakes import FakeEngine


def test_help_is_the_last_menu(open_window):
    window = open_window(make_engine=FakeEngine, show=False)
    titles = [action.text() for action in window.menuBar().actions()]
    assert titles == ["&File", "&Edit", "E&ngine", "&View", "&Models", "&Help"]


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
    window = open_window(make_engine=FakeEngine, show=False)
    window.resize(1024, 700)
    window.show()
    qtbot.waitUntil(lambda: window.width() == 1024)
    panel = window.history_binding.panel
    for combo in (panel.mode_filter, panel.date_filter):
        widest = max(combo.fontMetrics().horizontalAdvance(combo.itemText(i)) for i in range(combo.count()))
        assert widest <= _text_room(combo), combo.objectName()
