"""A second process for the single-instance tests: `python instance_child.py MODE DATA_DIR`.

MODE "hold": claim the instance, say so on stdout, then sleep without running an event
loop (it holds the lock but never answers; a test may kill it to leave a crash behind).
MODE "launch": claim like a second launch does; exit 0 when the running instance took
over ("handed-over"), 3 when this process became the instance, 4 when nobody answered.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication

from gui.single_instance import AlreadyRunningError, SingleInstance


def main() -> int:
    mode, data_dir = sys.argv[1], Path(sys.argv[2])
    app = QCoreApplication([])  # noqa: F841 - Qt's sockets need an application object
    instance = SingleInstance(data_dir, on_activate=lambda: None)
    try:
        primary = instance.claim()
    except AlreadyRunningError as exc:
        print(f"not-answering: {exc}", flush=True)
        return 4
    if mode == "hold":
        print("holding" if primary else "handed-over", flush=True)
        time.sleep(600)
        return 0
    print("primary" if primary else "handed-over", flush=True)
    return 3 if primary else 0


if __name__ == "__main__":
    sys.exit(main())
