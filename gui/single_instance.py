"""One window per user and data folder: a second `imagegen` brings the first to the front.

Who runs is decided by a lock file in the data folder (QLockFile: a lock left by a crashed
run names a dead process and is taken over). The running instance listens on a local socket
(QLocalServer) named per user and data folder; a later launch connects (QLocalSocket), asks
it to show its window and exits, so no second embedded backend starts on the same data.
A socket file left by a crash is removed before listening, so it never blocks a start.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLockFile
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

ACTIVATE = b"activate\n"
ACK = b"ok\n"
LOCK_FILE = "instance.lock"
# How long a second launch waits for the first to answer (it may still be starting up).
CONNECT_TIMEOUT_MS = 3000
REPLY_TIMEOUT_MS = 3000


class AlreadyRunningError(Exception):
    """Another instance holds the lock but did not answer; the message says what to do."""


def server_name(data_dir: Path) -> str:
    """The local socket's name: one per user and data folder, short enough for a Unix
    socket path (the data folder is hashed)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers): the home folder decides
        user = str(Path.home())
    key = f"{user}\0{Path(data_dir).expanduser().resolve()}".encode()
    return f"imagegen-desktop-{hashlib.sha256(key).hexdigest()[:16]}"


def _holder(lock: QLockFile) -> str:
    """Who holds ``lock``, as words (PySide6 answers (pid, hostname, appname), or a falsy
    value when the lock file vanished meanwhile)."""
    info = lock.getLockInfo()
    if isinstance(info, tuple) and len(info) == 3:
        pid, host, _app = info
        return f"process {pid} on {host or 'this machine'}"
    return "a process that just quit"


def raise_windows() -> None:
    """Bring the application's visible top-level windows to the front (un-minimising)."""
    from PySide6.QtWidgets import QApplication

    for window in QApplication.topLevelWidgets():
        if window.isWindow() and window.isVisible():
            if window.isMinimized():
                window.showNormal()
            window.raise_()
            window.activateWindow()


class SingleInstance:
    """Claim the instance for ``data_dir``; call `claim()` once a QCoreApplication exists."""

    def __init__(self, data_dir: Path, on_activate: Callable[[], None] = raise_windows) -> None:
        self.data_dir = Path(data_dir)
        self.name = server_name(self.data_dir)
        self._on_activate = on_activate
        self._lock: QLockFile | None = None
        self._server: QLocalServer | None = None

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.isListening()

    def claim(self) -> bool:
        """True: this process is the instance (and now listens). False: the running one was
        asked to show its window. Raises AlreadyRunningError when it holds the lock but
        does not answer."""
        if QCoreApplication.instance() is None:
            raise RuntimeError("SingleInstance.claim() needs a QCoreApplication")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lock = QLockFile(str(self.data_dir / LOCK_FILE))
        # Never stale by age (a window may run for weeks); only a dead owner makes it stale.
        lock.setStaleLockTime(0)
        if lock.tryLock(0):
            self._lock = lock
            self._listen()
            return True
        if lock.error() != QLockFile.LockError.LockFailedError:
            # Not "someone else holds it" but a folder we cannot write: run unguarded and
            # let the engine say what is wrong with the data folder.
            log.warning("single instance: cannot lock %s (%s)", lock.fileName(), lock.error())
            return True
        if self.activate_running():
            return False
        raise AlreadyRunningError(
            f"Another imagegen ({_holder(lock)}) is using "
            f"{self.data_dir} but does not answer. Close it, or start with another data "
            "folder (IMAGEGEN_DATA_DIR)."
        )

    def claim_or_report(self) -> int | None:
        """`claim()` for the launcher: None when this process is the instance, else the exit
        code, after saying on the terminal what happened."""
        try:
            if self.claim():
                return None
        except AlreadyRunningError as exc:
            print(f"imagegen: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:  # the data folder cannot be made: the engine will say so
            log.warning("single instance: %s", exc)
            return None
        print("imagegen is already running; its window was brought to the front.")
        return 0

    def activate_running(self) -> bool:
        """Ask the running instance to show its window; True when it acknowledged."""
        socket = QLocalSocket()
        # The running instance may hold the lock but not listen yet (it is starting up).
        deadline = time.monotonic() + CONNECT_TIMEOUT_MS / 1000
        while True:
            socket.connectToServer(self.name)
            if socket.waitForConnected(CONNECT_TIMEOUT_MS):
                break
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        try:
            socket.write(ACTIVATE)
            socket.waitForBytesWritten(REPLY_TIMEOUT_MS)
            reply = b""
            while not reply.endswith(b"\n") and socket.waitForReadyRead(REPLY_TIMEOUT_MS):
                reply += bytes(socket.readAll().data())
            return reply == ACK
        finally:
            socket.disconnectFromServer()

    def _listen(self) -> None:
        server = QLocalServer()
        # Only this user may connect (the socket lives in a shared temporary folder).
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        # We hold the lock, so a socket of that name is a crashed run's leftover.
        QLocalServer.removeServer(self.name)
        if not server.listen(self.name):
            # The window still works; only "bring to front" from a second launch is lost.
            log.warning("single instance: cannot listen on %s: %s", self.name, server.errorString())
            return
        server.newConnection.connect(self._accept)
        self._server = server

    def _accept(self) -> None:
        assert self._server is not None
        while (socket := self._server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)
            if socket.bytesAvailable():
                self._read(socket)

    def _read(self, socket: QLocalSocket) -> None:
        # Qt buffers a partial line until its newline arrives.
        while socket.canReadLine():
            if bytes(socket.readLine().data()) == ACTIVATE:
                socket.write(ACK)
                socket.flush()
                self._on_activate()

    def release(self) -> None:
        """Stop listening and drop the lock (on quit; a crash leaves both to be taken over)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None
