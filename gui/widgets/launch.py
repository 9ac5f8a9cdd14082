"""Start the window: QApplication + qasync loop, open the engine, show MainWindow.

It is handed what it shows by the composition root (gui/app.py `main`): the configuration
and the way to open the engine session. The session (and, in embedded mode, the backend) is
opened on the qasync loop before the window binds to it; closing the window closes the
engine, so journaled work resumes next time. Ctrl+C in the terminal and SIGTERM quit cleanly
(Qt would otherwise swallow SIGINT; Python's default ends the process at SIGTERM).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from gui.engine.config import ClientConfig
from gui.engine.engine_session import EngineSessionProtocol

log = logging.getLogger(__name__)
SessionOpener = Callable[[], Awaitable[EngineSessionProtocol]]


async def _run(app: QApplication, config: ClientConfig, open_session: SessionOpener) -> int:
    from gui.widgets import window_geometry
    from gui.widgets.controller import WindowController
    from gui.widgets.main_window import MainWindow

    try:
        session = await open_session()
    except Exception as exc:  # the window cannot work without an engine: say why
        log.exception("could not open the engine")
        QMessageBox.critical(None, "Imagegen could not start", str(exc) or type(exc).__name__)
        return 1
    window = MainWindow(
        thumb_dir=config.data_dir / "cache" / "thumbnails",
        geometry_store=window_geometry.app_settings(),  # last run's size and place
    )
    controller = WindowController(window, session)
    closed = asyncio.get_running_loop().create_future()
    window.on_close.append(lambda: closed.done() or closed.set_result(None))
    app.aboutToQuit.connect(lambda: closed.done() or closed.set_result(None))
    window.show()
    try:
        await controller.start()
    except Exception as exc:  # startup data failed to load; the window still works
        window.toasts.error(f"Could not load your sessions: {exc}")
    await closed
    await session.close()
    return 0


def _display_available() -> bool:
    """Qt aborts the process when no platform can start; say why before it does."""
    import os

    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_window(
    config: ClientConfig, open_session: SessionOpener, argv: Sequence[str] | None = None
) -> int:
    """Show the window for ``config`` on the session ``open_session`` opens; the exit code."""
    import qasync

    from gui.desktop_entry import DESKTOP_ID
    from gui.single_instance import SingleInstance
    from gui.widgets import icons, theme

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # One line per HTTP request drowns what matters; failures still surface as warnings.
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not _display_available():
        print(
            "imagegen: no display found (DISPLAY / WAYLAND_DISPLAY unset). Run it from a desktop"
            " session, under `xvfb-run imagegen`, or use `imagegen generate` headless.",
            file=sys.stderr,
        )
        return 2
    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    assert isinstance(app, QApplication)
    app.setApplicationName("Imagegen")
    app.setOrganizationName("imagegen-desktop")
    app.setQuitOnLastWindowClosed(False)  # _run decides when to quit (after closing)
    # The app icon, and the desktop entry Wayland matches the window with (desktop_entry.py).
    app.setWindowIcon(icons.app_icon())
    app.setDesktopFileName(DESKTOP_ID)
    # One window per data folder: a second launch brings the first to the front instead.
    instance = SingleInstance(config.data_dir)
    if (code := instance.claim_or_report()) is not None:
        return code
    theme.apply_theme(app, config.theme)
    if config.theme == "system":
        theme.follow_system(app)
    # Ctrl+C, and a polite kill (a logout, `kill`), close the window as a user would: the
    # engine and the embedded backend shut down in order. (Python's default for SIGTERM
    # ended the process at once, and left the image workers' semaphores behind.)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: app.closeAllWindows())
    # Qt's C++ loop never yields to Python; a no-op timer lets the signal handlers run.
    keepalive = QTimer()
    keepalive.start(200)
    keepalive.timeout.connect(lambda: None)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(_run(app, config, open_session))
    finally:
        loop.close()
        instance.release()
