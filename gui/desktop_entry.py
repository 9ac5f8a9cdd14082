"""`imagegen --install-desktop-entry`: a freedesktop menu entry and icon for this user.

Writes ``$XDG_DATA_HOME/applications/imagegen-desktop.desktop`` and the icon to
``$XDG_DATA_HOME/icons/hicolor/scalable/apps/imagegen-desktop.svg`` (XDG_DATA_HOME
defaults to ~/.local/share), so desktop menus and docks list the app with its icon;
`--uninstall-desktop-entry` removes exactly those two files. Qt-free.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import platformdirs

import resources

DESKTOP_ID = "imagegen-desktop"  # also the window's desktop file name (Wayland app id)
ICON_NAME = DESKTOP_ID


def data_home() -> Path:
    """$XDG_DATA_HOME, or ~/.local/share (platformdirs follows the XDG spec)."""
    return Path(platformdirs.user_data_dir(appname=None, appauthor=False))


def entry_paths(base: Path | None = None) -> tuple[Path, Path]:
    """Where the .desktop file and the icon go."""
    base = base or data_home()
    return (
        base / "applications" / f"{DESKTOP_ID}.desktop",
        base / "icons" / "hicolor" / "scalable" / "apps" / f"{ICON_NAME}.svg",
    )


def launch_command() -> list[str]:
    """How a menu starts this same installation: the bundle's executable, the console
    script beside this Python, or this Python running the CLI module."""
    if getattr(sys, "frozen", False):  # a PyInstaller bundle
        return [str(Path(sys.executable).resolve())]
    script = Path(sys.executable).parent / "imagegen"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    on_path = shutil.which("imagegen")
    if on_path:
        return [str(Path(on_path).resolve())]
    return [str(Path(sys.executable).resolve()), "-m", "gui.cli"]


def _exec_arg(arg: str) -> str:
    """One argument quoted as the Desktop Entry spec's Exec key wants it."""
    if arg and not any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`%"):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'.replace("%", "%%")


def desktop_file_text(command: list[str]) -> str:
    # The string-level escape applies before the Exec quoting: each backslash doubles again.
    exec_line = " ".join(_exec_arg(a) for a in command).replace("\\", "\\\\")
    return "\n".join(
        [
            "[Desktop Entry]",
            "Type=Application",
            "Version=1.5",
            "Name=Imagegen",
            "GenericName=Image generator",
            "Comment=Generate images with hosted models",
            f"Exec={exec_line}",
            f"TryExec={command[0]}",
            f"Icon={ICON_NAME}",
            "Terminal=false",
            "Categories=Graphics;2DGraphics;",
            "Keywords=image;generate;AI;prompt;",
            "StartupNotify=true",
            # Qt names the X11 window class after the application name (launch.py).
            "StartupWMClass=Imagegen",
            "",
        ]
    )


def install(base: Path | None = None, command: list[str] | None = None) -> tuple[Path, Path]:
    """Write the .desktop file and the icon (replacing earlier ones); returns their paths."""
    desktop, icon = entry_paths(base)
    desktop.parent.mkdir(parents=True, exist_ok=True)
    icon.parent.mkdir(parents=True, exist_ok=True)
    icon.write_bytes(resources.app_icon().read_bytes())
    # Written whole, then renamed: a menu never reads a half-written entry.
    partial = desktop.with_suffix(".desktop.partial")
    partial.write_text(desktop_file_text(command or launch_command()), encoding="utf-8")
    partial.chmod(0o755)  # some desktops only launch entries marked executable
    partial.replace(desktop)
    return desktop, icon


def uninstall(base: Path | None = None) -> list[Path]:
    """Remove the .desktop file and the icon; returns the paths that were there."""
    removed = []
    for path in entry_paths(base):
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def main_install(argv: Sequence[str] = ()) -> int:
    """`imagegen --install-desktop-entry` (takes no arguments)."""
    try:
        desktop, icon = install()
    except OSError as exc:
        print(f"imagegen: could not write the desktop entry: {exc}", file=sys.stderr)
        return 1
    print(f"Installed {desktop}\nand its icon {icon}.")
    return 0


def main_uninstall(argv: Sequence[str] = ()) -> int:
    try:
        removed = uninstall()
    except OSError as exc:
        print(f"imagegen: could not remove the desktop entry: {exc}", file=sys.stderr)
        return 1
    if not removed:
        print("No desktop entry was installed; nothing to remove.")
    for path in removed:
        print(f"Removed {path}")
    return 0
