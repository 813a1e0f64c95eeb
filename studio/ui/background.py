"""Work off the GUI thread, in plain daemon threads.

Not in a ``QThreadPool`` owned by a widget: deleting such a widget destroys its pool, whose destructor waits for
the running tasks while the deleting (GUI) thread holds the GIL, and a task emitting its answer waits for the
GIL: a deadlock (it hung the canvas tests). Nothing waits for these threads with the GIL held; an answer emitted
on a QObject deleted meanwhile raises ``RuntimeError``, which the tasks catch.
"""

import threading
from collections.abc import Callable


def start_detached(task: Callable[[], None], name: str, *, finish_before_exit: bool = False) -> None:
    """Run ``task`` in a new thread; ``finish_before_exit``: the process waits for it at exit (a file being
    written), else it is dropped (work whose answer nobody needs once the app closes)."""
    threading.Thread(target=task, name=name, daemon=not finish_before_exit).start()
