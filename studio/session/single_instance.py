"""One window per data folder.

Two windows on one folder would write over each other's workspace and settings, the last to close winning. So
the first start holds a lock file in the data folder (``QLockFile``: it records the process id, so the lock of
a killed process is recognised as stale and taken over) and listens on a local socket. A later start on the
same folder opens no window of its own: it asks the first one to come forward (the artist wanted to see the
app, and that window has their canvas) and exits. The lock is released once the window has closed and written
everything, so closing and reopening at once works: a start that finds the lock taken and nobody answering
keeps trying for a few seconds.
"""

import hashlib
import logging
import os
import time
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

LOCK_NAME = "studio.lock"
_REQUEST = b"come forward\n"
_ANSWER = b"ok\n"


def server_name(root: Path) -> str:
    """The local socket's name for the data folder ``root`` (one per folder, as the lock)."""
    folder = os.path.normcase(os.path.realpath(root))
    return f"LatentStudio-{hashlib.sha256(folder.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}"


class SingleInstance(QObject):
    come_forward = Signal()  # another start asked for this window

    def __init__(self, root: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root = Path(root)
        self._lock = QLockFile(str(self._root / LOCK_NAME))
        self._lock.setStaleLockTime(0)  # held for the whole session: stale only when its process is gone
        self._name = server_name(self._root)
        self._server: QLocalServer | None = None

    def acquire(self, wait_s: float = 10.0) -> bool:
        """True when this process may open the window on the data folder (it holds the lock and answers later
        starts); False when another window has it (that one was asked to come forward)."""
        deadline = time.monotonic() + wait_s
        while True:
            if self._lock.tryLock(0):
                self._listen()
                log.info("This window owns the data folder %s", self._root)
                return True
            if self._lock.error() != QLockFile.LockError.LockFailedError:  # e.g. a read-only data folder
                log.warning("Cannot lock the data folder %s (%s); opening without the lock", self._root,
                            self._lock.error().name)
                return True
            if _ask_to_come_forward(self._name):
                log.info("The data folder %s is open in another window; it was asked to come forward", self._root)
                return False
            if time.monotonic() >= deadline:
                log.warning("The data folder %s is locked by a window that does not answer", self._root)
                return False
            time.sleep(0.1)  # the other window is starting or closing

    def release(self) -> None:
        """Stop answering and let the next start have the data folder."""
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._lock.isLocked():
            self._lock.unlock()
            log.info("Released the data folder %s", self._root)

    def _listen(self) -> None:
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        QLocalServer.removeServer(self._name)  # a socket file left by a killed owner (we hold the lock now)
        if not server.listen(self._name):
            log.warning("Later starts cannot reach this window (%s)", server.errorString())
            return
        server.newConnection.connect(self._accept)
        self._server = server

    def _accept(self) -> None:
        while self._server is not None and (socket := self._server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda s=socket: self._answer(s))
            socket.disconnected.connect(socket.deleteLater)

    def _answer(self, socket: QLocalSocket) -> None:
        if bytes(socket.readAll()).startswith(_REQUEST.strip()):
            log.info("Another start on this data folder asked for this window")
            self.come_forward.emit()
            socket.write(_ANSWER)
            socket.flush()
        socket.disconnectFromServer()


def _ask_to_come_forward(name: str) -> bool:
    """Ask the window listening on ``name`` to come forward; True once it has said it did."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    try:
        if not socket.waitForConnected(1000):
            return False
        socket.write(_REQUEST)
        if not socket.waitForBytesWritten(1000) or not socket.waitForReadyRead(3000):
            return False
        return bytes(socket.readAll()).startswith(_ANSWER.strip())
    finally:
        socket.abort()
