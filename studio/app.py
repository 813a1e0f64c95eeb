"""Composition root: ``studio`` opens the window, ``studio generate|info`` runs the command line.

The window is shown before torch is imported: the engine module loads in the engine thread when the first
model loads. Qt's event loop runs through qasync, so the session's asyncio tasks share it.
"""

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from studio import cli
from studio.core import allocator

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studio",
        description="Latent Studio: generate and inpaint images with latent diffusion models, locally.",
        epilog="Headless: `studio generate --help`, `studio info IMAGE`, `studio setup --help` (PyTorch set-up).",
    )
    parser.add_argument("--model", help="diffusers folder, .safetensors checkpoint or Hugging Face id to open")
    return parser


def make_engine():
    """The real engine. Called in the engine thread on the first model load, so torch is imported there."""
    from studio.core.settings import load_settings
    from studio.engine.engine import Engine

    settings = load_settings().settings
    return Engine(device=None, previews="auto", backend=settings.backend, channels_last=settings.channels_last,
                  memory_plan=settings.memory_plan, openvino_cache_gb=settings.openvino_cache_gb,
                  draft_decode=settings.draft_decode, openvino_weights=settings.openvino_weights,
                  openvino_precision=settings.openvino_precision)


def create_main_window(model: str | None = None, *, make_engine: Callable[[], object] = make_engine):
    """The fully wired main window (not shown), with the canvas and prompt of the last session restored.
    Needs a QApplication and a running qasync loop.

    ``model`` is loaded at once; without it the last used model is. ``make_engine`` replaces the real engine
    (tests only).
    """
    from studio.core.settings import load_settings
    from studio.core.workspace import Workspace
    from studio.session import Session
    from studio.ui.main_window import MainWindow

    loaded = load_settings()
    session = Session(make_engine)
    window = MainWindow(session, loaded.settings, Workspace(), notice=loaded.notice)
    source = model or loaded.settings.model
    if source:
        session.load_model(source)
    return window


def create_application():
    """The QApplication set up as the ``studio`` command runs it (name, quit policy, theme)."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from studio.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Latent Studio")
    app.setWindowIcon(QIcon(str(Path(__file__).with_name("resources") / "icon.png")))
    app.setQuitOnLastWindowClosed(False)  # the loop ends when the window has shut its session down
    apply_theme(app)
    return app


def bring_forward(window) -> None:
    """Show ``window`` on top of the others, as a second start of the app asked for."""
    from PySide6.QtCore import Qt

    window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
    window.show()
    window.raise_()
    window.activateWindow()


def run_gui(model: str | None) -> int:
    import qasync

    from studio.core.logs import record_crashes, setup_logging
    from studio.core.paths import studio_home
    from studio.session.single_instance import SingleInstance

    log_path = setup_logging()
    record_crashes()
    log.info("Starting the window (log: %s)", log_path)
    create_application()
    instance = SingleInstance(studio_home())  # one window per data folder: a second would overwrite its work
    if not instance.acquire():
        print(f"Latent Studio is already open on {studio_home()}; its window was asked to come forward.",
              file=sys.stderr)
        return 0

    async def session() -> None:
        from studio.session.torch_setup import TorchSetup
        from studio.setup.gate import EngineGate
        from studio.ui.setup_gate import attach_torch_setup

        closed = asyncio.Event()
        gate = EngineGate()  # the engine starts once the PyTorch set-up says torch fits
        window = create_main_window(model, make_engine=gate.guard(make_engine))
        instance.come_forward.connect(lambda: bring_forward(window))
        window.closed.connect(instance.release)  # after the window's last writes
        window.closed.connect(closed.set)
        for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl+C in the terminal closes the window properly
            with contextlib.suppress(NotImplementedError):  # not on Windows' event loops
                asyncio.get_running_loop().add_signal_handler(signum, window.close)
        window.show()
        log.info("The window is open")
        attach_torch_setup(window, gate, TorchSetup())
        await closed.wait()

    qasync.run(session())
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    allocator.keep_freed_blocks()  # before any thread allocates: the engine thread then shares the main heap
    if argv and argv[0] in cli.COMMANDS:
        return cli.main(argv)
    args = build_parser().parse_args(argv)
    return run_gui(args.model)
