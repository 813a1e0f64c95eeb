"""Start the installed app's window, report when it is shown, close it: ``<env python> first_start.py T0``.

Run by ``smoke.py`` with the INSTALLED environment's python (this file imports only the app and Qt, so it runs
there; its folder holds no ``studio`` package). ``T0`` is the parent's ``time.monotonic()`` just before it spawned
this process (the monotonic clock is system-wide on Linux, Windows and macOS). The window
is built like ``run_gui`` builds it; "shown" is its first completed paint, as in ``tests/bench/gui_launch.py``;
then the window is closed the way a user closes it (``close()``, the session shuts down, ``closed`` fires) and the
process prints one JSON line and exits normally.
"""

import asyncio
import json
import sys
import time

T0 = float(sys.argv[1])


def main() -> int:
    import qasync
    from PySide6.QtCore import QEvent, QObject, QTimer

    from studio.app import create_application, create_main_window
    from studio.core.logs import setup_logging

    setup_logging()
    app = create_application()
    report = {"window_icon": not app.windowIcon().isNull()}

    async def session() -> None:
        closed = asyncio.Event()
        window = create_main_window()
        window.closed.connect(closed.set)

        class FirstPaint(QObject):
            def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
                if event.type() == QEvent.Type.Paint:
                    watched.removeEventFilter(self)
                    report["first_paint_s"] = time.monotonic() - T0
                    QTimer.singleShot(0, shown)
                return False

        def shown() -> None:
            report["shown_s"] = time.monotonic() - T0
            report["visible"] = window.isVisible()
            report["torch_imported_at_show"] = "torch" in sys.modules
            window.close()

        watcher = FirstPaint()
        window.installEventFilter(watcher)
        window.show()
        await asyncio.wait_for(closed.wait(), timeout=120)
        report["closed"] = True

    qasync.run(session())
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
