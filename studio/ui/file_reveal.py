"""Showing a file in the system's file manager with the file selected: Explorer (``/select,``), Finder
(``open -R``), or a freedesktop file manager over D-Bus (``org.freedesktop.FileManager1.ShowItems``: Nautilus,
Dolphin, Nemo, Caja, Thunar...). Where none can select it, the file's folder is opened."""

import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

log = logging.getLogger(__name__)


def reveal_command(path: Path, platform: str = sys.platform) -> list[str] | None:
    """The command that shows ``path`` selected on Windows and macOS; None elsewhere (D-Bus there)."""
    if platform == "win32":
        return ["explorer", f"/select,{path}"]
    if platform == "darwin":
        return ["open", "-R", str(path)]
    return None


def reveal_file(path: Path, open_folder: Callable[[QUrl], object] = QDesktopServices.openUrl) -> None:
    path = Path(path)
    command = reveal_command(path)
    if command is not None:
        try:
            subprocess.Popen(command)  # not waited for: Explorer exits with 1 even when it worked
            return
        except OSError:
            log.warning("Could not run %s", command, exc_info=True)
    elif _show_over_dbus(path):
        return
    open_folder(QUrl.fromLocalFile(str(path.parent)))


def _show_over_dbus(path: Path) -> bool:
    from PySide6.QtDBus import QDBusConnection, QDBusInterface, QDBusMessage

    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        return False
    manager = QDBusInterface("org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                             "org.freedesktop.FileManager1", bus)
    if not manager.isValid():
        return False
    reply = manager.call("ShowItems", [QUrl.fromLocalFile(str(path)).toString()], "")
    if reply.type() == QDBusMessage.MessageType.ErrorMessage:
        log.info("The file manager could not show %s: %s", path, reply.errorMessage())
        return False
    return True
