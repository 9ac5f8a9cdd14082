"""`imagegen --install-desktop-entry` / `--uninstall-desktop-entry`: real files in a temp
XDG_DATA_HOME, written by the real command."""

from __future__ import annotations

import configparser
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import resources
from gui import desktop_entry

ROOT = Path(__file__).resolve().parents[2]


def _imagegen(*args: str, data_home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, XDG_DATA_HOME=str(data_home), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "gui.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _read_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(path.read_text("utf-8"))
    return dict(parser["Desktop Entry"])


def test_install_writes_the_entry_and_icon_under_xdg_data_home(tmp_path: Path) -> None:
    result = _imagegen("--install-desktop-entry", data_home=tmp_path)
    assert result.returncode == 0, result.stderr
    desktop = tmp_path / "applications" / "imagegen-desktop.desktop"
    icon = tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "imagegen-desktop.svg"
    assert str(desktop) in result.stdout
    assert icon.read_bytes() == resources.app_icon().read_bytes()
    entry = _read_entry(desktop)
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Imagegen"
    assert entry["Icon"] == "imagegen-desktop"
    assert entry["Terminal"] == "false"
    # The menu starts this same installation, and what it names exists.
    command = shlex.split(entry["Exec"])
    assert Path(command[0]).is_file()
    assert os.access(command[0], os.X_OK)
    assert not list(tmp_path.rglob("*.partial"))


def test_uninstall_removes_exactly_what_install_wrote(tmp_path: Path) -> None:
    neighbour = tmp_path / "applications" / "someone-else.desktop"
    neighbour.parent.mkdir(parents=True)
    neighbour.write_text("[Desktop Entry]\nName=Other\n")
    assert _imagegen("--install-desktop-entry", data_home=tmp_path).returncode == 0
    result = _imagegen("--uninstall-desktop-entry", data_home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Removed ") == 2
    assert not (tmp_path / "applications" / "imagegen-desktop.desktop").exists()
    assert not list((tmp_path / "icons").rglob("imagegen-desktop.*"))
    assert neighbour.exists()
    again = _imagegen("--uninstall-desktop-entry", data_home=tmp_path)
    assert again.returncode == 0
    assert "nothing to remove" in again.stdout


def test_an_unwritable_data_home_gets_a_sentence_not_a_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    result = _imagegen("--install-desktop-entry", data_home=blocker)
    assert result.returncode == 1
    assert result.stderr.startswith("imagegen: could not write the desktop entry:")
    assert "Traceback" not in result.stderr


def test_extra_arguments_are_refused(tmp_path: Path) -> None:
    result = _imagegen("--install-desktop-entry", "now", data_home=tmp_path)
    assert result.returncode == 2
    assert "takes no other arguments" in result.stderr
    assert not (tmp_path / "applications").exists()


@pytest.mark.parametrize(
    ("argv", "exec_line"),
    [
        (["/usr/bin/imagegen"], "/usr/bin/imagegen"),
        (["/opt/My Apps/imagegen"], '"/opt/My Apps/imagegen"'),
        (["/p/python", "-m", "gui.cli"], "/p/python -m gui.cli"),
        (["/odd/100%/$HOME/x"], '"/odd/100%%/\\\\$HOME/x"'),
    ],
)
def test_exec_is_quoted_as_the_desktop_entry_spec_says(argv: list[str], exec_line: str) -> None:
    assert f"\nExec={exec_line}\n" in desktop_entry.desktop_file_text(argv)


def test_xdg_data_home_is_honoured_and_defaults_to_local_share(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert desktop_entry.data_home() == tmp_path
    monkeypatch.delenv("XDG_DATA_HOME")
    assert desktop_entry.data_home() == Path.home() / ".local" / "share"
