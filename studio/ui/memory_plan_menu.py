"""The Engine menu's "Memory plan" choices: the ``memory_plan`` setting (``core.memory_plan``). Choosing one loads
the model again with it; the plan in use is in the status bar, after the model's device."""

from collections.abc import Callable

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from studio.core.memory_plan import AUTO, PLAN_CHOICES, MemoryPlan
from studio.core.settings import Settings

TIP = "Where the model's weights live on a GPU; on the CPU everything stays in RAM. Loads the model again."


def _label(choice: str) -> str:
    if choice == AUTO:
        return "Automatic (from the model's size and the free GPU memory)"
    label = MemoryPlan(choice).label
    return label[0].upper() + label[1:]


class MemoryPlanMenu:
    def __init__(self, engine_menu: QMenu, settings: Settings, choose: Callable[[str], None]) -> None:
        """``choose`` gets the choice the user made (after the setting is changed)."""
        self._settings = settings
        self._choose = choose
        self.menu = engine_menu.addMenu("&Memory plan")
        self.menu.setObjectName("memoryPlanMenu")
        self.menu.setToolTipsVisible(True)
        group = QActionGroup(self.menu, exclusive=True)
        self.actions: dict[str, QAction] = {}
        for choice in PLAN_CHOICES:
            action = QAction(_label(choice), self.menu, objectName=f"memoryPlan-{choice}", checkable=True)
            action.setToolTip(TIP)
            action.setChecked(choice == settings.memory_plan)
            action.triggered.connect(lambda _checked=False, c=choice: self._chosen(c))
            group.addAction(action)
            self.menu.addAction(action)
            self.actions[choice] = action

    def _chosen(self, choice: str) -> None:
        if choice != self._settings.memory_plan:
            self._settings.memory_plan = choice
            self._choose(choice)
