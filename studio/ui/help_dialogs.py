"""Help > Keyboard shortcuts and Help > About.

The shortcut list is read from the window's menus (so it cannot drift from them) plus the keys the window and
the canvas handle themselves. About says where files go and what the engine runs on, without importing torch.
"""

import importlib.metadata
import importlib.util
import sys
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QMenuBar, QVBoxLayout, QWidget

import studio
from studio.core.paths import logs_dir, models_dir, outputs_dir, studio_home

APP_NAME = "Latent Studio"
ICON = Path(studio.__file__).resolve().parent / "resources" / "icon.png"

# Keys that are not menu commands: the window's own shortcuts and the canvas's keys (studio/ui/canvas/input.py).
OTHER_KEYS = (
    ("Ctrl+Enter", "Generate"),
    ("Ctrl+Shift+Enter", "Generate next (ahead of the queued jobs)"),
    ("Esc", "Cancel the generation"),
    ("B", "Brush (on the canvas)"),
    ("E", "Eraser (on the canvas)"),
    ("[  ]", "Smaller / larger brush"),
    ("Space + drag, middle drag", "Pan the canvas"),
    ("Wheel", "Zoom around the pointer"),
)


def app_version() -> str:
    try:
        return importlib.metadata.version("latent-studio")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return studio.__version__


def torch_status(device: str | None = None) -> str:
    """What runs the models, from what is known without importing torch in the window's thread."""
    torch = sys.modules.get("torch")
    if torch is not None:
        running = " ".join(filter(None, ("PyTorch", getattr(torch, "__version__", ""))))
        return f"{running} is running the models on {device}." if device else f"{running} is loaded."
    if importlib.util.find_spec("torch") is None:
        return "PyTorch is not installed: models cannot be loaded yet."
    try:
        installed = f"PyTorch {importlib.metadata.version('torch')}"
    except importlib.metadata.PackageNotFoundError:
        installed = "PyTorch"
    return f"{installed} is installed; it starts with the first model."


def menu_shortcuts(bar: QMenuBar) -> list[tuple[str, str]]:
    """(keys, command) for every menu command that has a shortcut, in menu order (its main key: the platform's
    alternatives, such as a keyboard's own Undo or Paste key, are left out)."""
    rows = []
    for menu_action in bar.actions():
        menu = menu_action.menu()
        for action in menu.actions() if menu is not None else []:
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys and isinstance(action, QAction):
                rows.append((keys, action.text().replace("&", "").rstrip("…").rstrip(".")))
    return rows


def _table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><td style='padding-right:18px'><b>{escape(k)}</b></td><td>{escape(v)}</td></tr>"
                    for k, v in rows)
    return f"<table cellspacing='3'>{cells}</table>"


class ShortcutsDialog(QDialog):
    def __init__(self, bar: QMenuBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.rows = menu_shortcuts(bar) + list(OTHER_KEYS)
        text = QLabel(_table(self.rows), objectName="shortcutsText", textFormat=Qt.TextFormat.RichText)
        _layout(self, text)


class AboutDialog(QDialog):
    def __init__(self, device: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(f"About {APP_NAME}")
        places = [("Your files", studio_home()), ("Generated images", outputs_dir()), ("Models", models_dir()),
                  ("Log files", logs_dir())]
        rows = "".join(f"<tr><td style='padding-right:12px'>{name}</td><td>{escape(str(path))}</td></tr>"
                       for name, path in places)
        self.text = QLabel(
            f"<h3>{APP_NAME} {escape(app_version())}</h3>"
            "<p>Generate and edit images with latent diffusion models on this computer.</p>"
            f"<table>{rows}</table><p>{escape(torch_status(device))}</p>",
            objectName="aboutText", textFormat=Qt.TextFormat.RichText,
        )
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.icon = QLabel(objectName="aboutIcon")
        if ICON.is_file():
            self.icon.setPixmap(QPixmap(str(ICON)).scaled(
                96, 96, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))
        self.icon.setVisible(not self.icon.pixmap().isNull())
        row = QHBoxLayout()
        row.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.text, 1)
        _layout(self, row)


def _layout(dialog: QDialog, content: QWidget | QHBoxLayout) -> None:
    column = QVBoxLayout(dialog)
    if isinstance(content, QWidget):
        column.addWidget(content)
    else:
        column.addLayout(content)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, objectName="dialogButtons")
    buttons.rejected.connect(dialog.reject)
    column.addWidget(buttons)
