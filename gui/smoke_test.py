"""`imagegen --smoke-test`: open the real window offscreen, check it works, quit cleanly.

For an installed wheel or a standalone bundle, where no test suite is at hand: the window
starts exactly as `imagegen` does (embedded backend, engine, controller), every logo the
catalog names is rendered from the installed `resources` package, and the window is closed
the way a user closes it. Exit code 0 only when all of that happened. Uses a fresh data
folder unless IMAGEGEN_DATA_DIR is set, so it never touches (or waits for) the user's app.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence

# Long enough for a cold start of the embedded backend on a slow machine.
DEADLINE_MS = 90_000
# After the window shows: time for the controller's first load to run.
SETTLE_MS = 1500


def _check_logos() -> list[str]:
    """Every catalog logo rendered from the package; the problems as sentences."""
    import resources
    from catalog import MODELS
    from gui.widgets import icons

    problems = []
    for logo in sorted({m.logo for m in MODELS.values()}):
        if resources.logo(logo) is None:
            problems.append(f"logo {logo} is missing from {resources.__file__}")
        elif icons.logo_renderer(logo) is None:
            problems.append(f"logo {logo} is not an SVG Qt can render")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="imagegen-smoke-") as scratch:
        os.environ.setdefault("IMAGEGEN_DATA_DIR", scratch)
        return _run(list(argv or []))


def _run(argv: list[str]) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox

    from gui.app import main as open_window  # the composition root assembles the window

    # Made here so the timers can be set; the launcher reuses it.
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    report: dict[str, object] = {"shown": False, "problems": []}

    def window_shown() -> bool:
        return any(isinstance(w, QMainWindow) and w.isVisible() for w in app.topLevelWidgets())

    def close_when_shown() -> None:
        refusal = next(
            (w for w in app.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()),
            None,
        )
        if refusal is not None:  # "could not start": no window will come
            poll.stop()
            report["problems"] = [f"{refusal.text()} ({refusal.informativeText()})"]
            app.closeAllWindows()
            return
        if not window_shown():
            return
        poll.stop()
        report["shown"] = True
        report["problems"] = _check_logos()
        if app.windowIcon().isNull():
            report["problems"].append("the application has no window icon")  # type: ignore[attr-defined]
        QTimer.singleShot(SETTLE_MS, app.closeAllWindows)

    def give_up() -> None:
        if report["shown"]:
            return
        report["problems"] = ["the window did not open in time"]
        app.closeAllWindows()

    poll = QTimer()
    poll.timeout.connect(close_when_shown)
    poll.start(100)
    QTimer.singleShot(DEADLINE_MS, give_up)
    code = open_window(argv)
    problems = list(report["problems"])  # type: ignore[call-overload]
    if code == 0 and report["shown"] and not problems:
        print("smoke test passed: the window opened, rendered every logo and closed.")
        return 0
    for problem in problems or [f"the window exited with code {code}"]:
        print(f"smoke test failed: {problem}", file=sys.stderr)
    return code or 1
