"""Child process of the launch benchmark: start the window like ``run_gui`` does, report its first paint, exit.

``python -m tests.bench.gui_launch T0 [MODEL]``: ``T0`` is the parent's ``time.monotonic()`` just before it
spawned this process. CLOCK_MONOTONIC is system-wide on Linux, so ``time.monotonic() - T0`` here is the time
since the parent started the process (interpreter start-up included).

"Shown" is the first paint of the main window, completed: the first Paint event the window receives schedules a
zero-delay timer, which fires once the backing store has painted every widget and flushed (to the offscreen
platform here). The process then prints one JSON line and leaves at once with ``os._exit`` (the work of
tearing Qt down is not part of showing a window). Imports nothing heavy itself: only what ``run_gui`` imports.
"""

import asyncio
import json
import os
import sys
import time

T0 = float(sys.argv[1])
MODEL = sys.argv[2] if len(sys.argv) > 2 else None


def main() -> None:
    import qasync
    from PySide6.QtCore import QEvent, QObject, QTimer

    from studio.app import create_application, create_main_window
    from studio.core.logs import setup_logging

    setup_logging()
    create_application()

    def done(first_paint: float) -> None:
        shown = time.monotonic() - T0
        print(json.dumps({
            "first_paint_s": first_paint,
            "shown_s": shown,
            "torch_imported": "torch" in sys.modules,
        }), flush=True)
        os._exit(0)

    class FirstPaint(QObject):
        def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
            if event.type() == QEvent.Type.Paint:
                watched.removeEventFilter(self)
                first_paint = time.monotonic() - T0
                QTimer.singleShot(0, lambda: done(first_paint))
            return False

    watcher = FirstPaint()

    async def session() -> None:
        window = create_main_window(MODEL)
        window.installEventFilter(watcher)
        window.show()
        await asyncio.Event().wait()  # until done() ends the process

    qasync.run(session())


main()
