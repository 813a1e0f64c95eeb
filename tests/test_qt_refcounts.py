"""The installed Qt binding keeps Python's reference counts: PySide6 6.12.0 on Python 3.11 lost one reference
to ``True`` per signal emit and one to ``None`` per void call, so a long session aborted ("bool_dealloc")."""

import os
import subprocess
import sys

CHILD = """
import sys
from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

class Emitter(QObject):
    plain = Signal()
    flag = Signal(bool)

app = QCoreApplication([])
emitter, timer = Emitter(), QTimer()
none, true = sys.getrefcount(None), sys.getrefcount(True)
for _ in range(200):
    emitter.plain.emit()
    emitter.flag.emit(True)
    timer.setInterval(5)
    app.processEvents()
print(sys.getrefcount(None) - none, sys.getrefcount(True) - true)
"""


def test_signals_and_void_calls_keep_the_reference_counts_of_none_and_true():
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120,
                          env={"QT_QPA_PLATFORM": "offscreen", **os.environ})
    assert proc.returncode == 0, proc.stderr[-2000:]
    none_delta, true_delta = map(int, proc.stdout.split())
    assert abs(none_delta) < 50 and abs(true_delta) < 50, (none_delta, true_delta)
