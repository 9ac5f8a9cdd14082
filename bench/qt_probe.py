"""Helpers for the Qt benchmarks: when a widget finished painting, and child processes.

Qt benchmarks run in a child process each (a fresh QApplication, and memory that is the
grid's own), on the offscreen platform; the child prints one ``RESULT {json}`` line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from bench.proxy import REPO_ROOT


def run_child(module: str, *args: str, timeout: float = 600.0) -> dict[str, Any]:
    """Run ``python -m module --child args...`` and return its RESULT."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-m", module, "--child", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    tail = (proc.stderr or proc.stdout)[-2000:]
    raise RuntimeError(f"{module} produced no result (exit {proc.returncode}):\n{tail}")


def emit(result: dict[str, Any]) -> None:
    print("RESULT " + json.dumps(result), flush=True)


def paint_probe(widget: Any) -> list[float]:
    """Install a filter on ``widget``; returns the list it appends to: the monotonic time at
    which each paint event *finished*. The filter (the first one called, being the last
    installed) re-sends the event through the remaining filters and the widget, inside the
    same paint cycle, notes the time, and stops the original. Re-sending matters: a scroll
    area's viewport is painted by the area's own event filter, not by ``widget.event``."""
    from PySide6.QtCore import QCoreApplication, QEvent, QObject

    painted: list[float] = []

    class _Probe(QObject):
        inside = False

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if obj is widget and event.type() == QEvent.Type.Paint and not self.inside:
                self.inside = True
                try:
                    QCoreApplication.sendEvent(widget, event)
                finally:
                    self.inside = False
                painted.append(time.monotonic())
                return True
            return False

    probe = _Probe(widget)
    widget.installEventFilter(probe)
    widget._bench_probe = probe  # keep it alive as long as the widget
    return painted
