"""``imagegen`` with a probe: prints ``SHOWN <monotonic>`` when the window's first paint is done,
then closes the window (the app then shuts down as it does when the user closes it).

It runs the real entry point (``gui.app.main``): QApplication, qasync, the embedded backend
started and ready, the engine opened, the window built and shown. The probe is attached from
outside, by wrapping ``MainWindow.show``, so the product carries no benchmark code.
"""

from __future__ import annotations

import sys
import time


def main() -> int:
    from PySide6.QtCore import QTimer

    from bench.qt_probe import paint_probe
    from gui.app import main as app_main
    from gui.widgets.main_window import MainWindow

    original_show = MainWindow.show

    def show(self: MainWindow) -> None:
        original_show(self)
        painted = paint_probe(self.grid.viewport())  # the feed: painted in the first frame

        def check() -> None:
            if painted:
                print(f"SHOWN {painted[0]:.6f}", flush=True)
                self.close()
            else:
                QTimer.singleShot(1, check)

        QTimer.singleShot(0, check)

    MainWindow.show = show  # type: ignore[method-assign]
    return app_main([])


if __name__ == "__main__":
    print(f"STARTED {time.monotonic():.6f}", flush=True)
    sys.exit(main())
