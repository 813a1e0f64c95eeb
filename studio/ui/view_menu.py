"""The View menu: the docks (History, Queue) shown or hidden, so a closed dock is never out of reach."""

from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu


def add_view_menu(window: QMainWindow, before: QMenu, docks: list[QDockWidget]) -> QMenu:
    """A View menu placed before ``before`` with one checkable entry per dock (``<dockName>Action``)."""
    menu = QMenu("&View", window, objectName="viewMenu")
    for dock in docks:
        action = dock.toggleViewAction()
        action.setObjectName(f"{dock.objectName()}Action")
        menu.addAction(action)
    window.menuBar().insertMenu(before.menuAction(), menu)
    return menu
