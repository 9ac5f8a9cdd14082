"""The standalone bundle's entry point (PyInstaller freezes this file): the `imagegen` CLI."""

import sys

from gui.cli import main

if __name__ == "__main__":
    sys.exit(main())
