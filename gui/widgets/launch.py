"""Start the window: QApplication + qasync loop, open the engine, show MainWindow.

The engine (and, in embedded mode, the backend) is opened on the qasync loop before the
window binds to it; closing the window closes the engine, so journaled work resumes next
time. Ctrl+C in the terminal quits cleanly (Qt would otherwise swallow SIGINT).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger(__name__)


async def _run(app: QApplication) -> int:
    from gui.app import open_engine
    from gui.engine.config import load_client_config
    from gui.widgets import window_geometry
    from gui.widgets.controller import WindowController
    from gui.widgets.main_window import MainWindow

    config = load_client_config()
    try:
        # Resumed later by the controller, once the bridge listens for its events.
        session = await open_engine(config, resume=False)
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


def run_window(argv: Sequence[str] | None = None) -> int:
    import qasync

    from gui.widgets import theme
    from gui.widgets.settings_dialog import stored_theme

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
    theme.apply_theme(app, stored_theme())
    if stored_theme() == "system":
        theme.follow_system(app)
    signal.signal(signal.SIGINT, lambda *_: app.closeAllWindows())
    # Qt's C++ loop never yields to Python; a no-op timer lets the SIGINT handler run.
    keepalive = QTimer()
    keepalive.start(200)
    keepalive.timeout.connect(lambda: None)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(_run(app))
    finally:
        loop.close()
