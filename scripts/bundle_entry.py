"""The standalone bundle's entry point (PyInstaller freezes this file): the `imagegen` CLI."""

import multiprocessing
import sys

from gui.cli import main

if __name__ == "__main__":
    # The backend's image workers are spawned processes: in a frozen bundle they start
    # this executable again, and this hands them to multiprocessing instead of the CLI.
    multiprocessing.freeze_support()
    sys.exit(main())
