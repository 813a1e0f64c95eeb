"""The first-run check wired to the window: look at the machine when the window opens; if the installed torch
fits, let the engine start at once, otherwise show the set-up dialog and let it start once torch is ready.
Help › Set up PyTorch… opens the same dialog later (repair, or another build)."""

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QDialog, QMainWindow

from studio.session.torch_setup import TorchSetup
from studio.setup.gate import EngineGate
from studio.setup.procedure import Situation
from studio.ui.setup_panel import SetupDialog, add_setup_action

NOT_SET_UP = "PyTorch is not set up yet: choose Help › Set up PyTorch… to install it, then open the model again."


class _RefuseOnClose(QObject):
    """An engine start still waiting at the gate must not keep the closing window's engine thread alive."""

    def __init__(self, gate: EngineGate, setup: TorchSetup, parent: QObject) -> None:
        super().__init__(parent)
        self._gate, self._setup = gate, setup

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Close:
            self._setup.shutdown()
            self._gate.refuse("Latent Studio is closing.")
        return False


def attach_torch_setup(window: QMainWindow, gate: EngineGate, setup: TorchSetup) -> None:
    setup.setParent(window)
    window.installEventFilter(_RefuseOnClose(gate, setup, window))

    def first_look(situation: Situation) -> None:
        setup.looked.disconnect(first_look)
        if situation.needs_setup:
            open_dialog(situation)
        else:
            gate.open()

    def open_dialog(situation: Situation | None = None) -> SetupDialog:
        dialog = SetupDialog(setup, window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda result: done(result == QDialog.DialogCode.Accepted))
        dialog.open()
        if situation is None:
            dialog.panel.start()
        else:
            dialog.panel.show_situation(situation)
        window.setup_dialog = dialog  # for tests and screenshots
        return dialog

    def done(ready: bool) -> None:
        if ready:
            gate.open()
        elif not gate.is_open:
            gate.refuse(NOT_SET_UP)

    setup.looked.connect(first_look)
    add_setup_action(window, lambda: open_dialog())
    setup.look()
