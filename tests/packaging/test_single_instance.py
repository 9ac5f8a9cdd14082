"""One window per user and data folder: real QLocalServer / QLocalSocket, real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMainWindow
from pytestqt.qtbot import QtBot

from gui.single_instance import LOCK_FILE, SingleInstance, server_name

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("instance_child.py")


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), **extra)
    return env


def _start_child(mode: str, data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), mode, str(data_dir)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _second_launch(qtbot: QtBot, data_dir: Path) -> tuple[int, str]:
    """Run a second launch while this process keeps serving Qt events (it must answer)."""
    child = _start_child("launch", data_dir)
    qtbot.waitUntil(lambda: child.poll() is not None, timeout=20_000)
    out, err = child.communicate()
    return child.returncode, out + err


@pytest.fixture
def instance(qapp: QApplication, tmp_path: Path) -> Iterator[tuple[SingleInstance, list[int]]]:
    activations: list[int] = []
    inst = SingleInstance(tmp_path / "data", on_activate=lambda: activations.append(1))
    yield inst, activations
    inst.release()


def test_a_second_launch_hands_over_to_the_running_instance(
    qtbot: QtBot, instance: tuple[SingleInstance, list[int]]
) -> None:
    inst, activations = instance
    assert inst.claim() is True
    assert inst.listening
    code, output = _second_launch(qtbot, inst.data_dir)
    assert (code, output.strip()) == (0, "handed-over")
    assert activations == [1]


def test_the_running_window_is_brought_back_from_minimised(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path
) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.show()
    window.showMinimized()
    assert window.isMinimized()
    inst = SingleInstance(tmp_path / "data")  # the real raise_windows
    try:
        assert inst.claim()
        code, _ = _second_launch(qtbot, inst.data_dir)
        assert code == 0
        qtbot.waitUntil(lambda: not window.isMinimized(), timeout=5000)
    finally:
        inst.release()


def test_a_crashed_run_leaves_nothing_that_blocks_the_next_start(
    qtbot: QtBot, instance: tuple[SingleInstance, list[int]]
) -> None:
    inst, activations = instance
    crashed = _start_child("hold", inst.data_dir)
    assert crashed.stdout is not None
    assert crashed.stdout.readline().strip() == "holding"
    crashed.send_signal(signal.SIGKILL)
    crashed.wait(10)
    crashed.stdout.close()
    assert crashed.stderr is not None
    crashed.stderr.close()
    # What a crash leaves: the lock naming a dead process (and, on Unix, the socket file).
    assert (inst.data_dir / LOCK_FILE).exists()
    assert inst.claim() is True
    assert inst.listening
    code, output = _second_launch(qtbot, inst.data_dir)
    assert (code, output.strip()) == (0, "handed-over")
    assert activations == [1]


def test_an_instance_that_does_not_answer_gets_a_clear_sentence(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    holder = _start_child("hold", data)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        # The holder never runs an event loop, so it never answers.
        code, output = _second_launch(qtbot, data)
        assert code == 4
        assert "does not answer" in output
        assert str(holder.pid) in output
        assert "IMAGEGEN_DATA_DIR" in output
    finally:
        holder.kill()
        holder.communicate(timeout=10)


def test_each_data_folder_is_its_own_instance(qapp: QApplication, tmp_path: Path) -> None:
    assert server_name(tmp_path / "a") != server_name(tmp_path / "b")
    assert server_name(tmp_path / "a") == server_name(tmp_path / "x" / ".." / "a")
    first, second = SingleInstance(tmp_path / "a"), SingleInstance(tmp_path / "b")
    try:
        assert first.claim() and second.claim()
    finally:
        first.release()
        second.release()


def test_quitting_releases_the_instance_for_the_next_start(
    qtbot: QtBot, instance: tuple[SingleInstance, list[int]]
) -> None:
    inst, _ = instance
    assert inst.claim()
    inst.release()
    assert not inst.listening
    code, output = _second_launch(qtbot, inst.data_dir)
    assert (code, output.strip()) == (3, "primary")


def test_imagegen_twice_opens_one_window(tmp_path: Path) -> None:
    """The real command: the second `imagegen` hands over (before any backend starts)."""
    env = _env(IMAGEGEN_DATA_DIR=str(tmp_path / "data"))
    cmd = [sys.executable, "-m", "gui.cli"]
    first = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        # The first has claimed the folder once its lock exists; wait for its backend too.
        while not (tmp_path / "data" / "backend").exists() and time.monotonic() < deadline:
            assert first.poll() is None, "the first window exited early"
            time.sleep(0.1)
        second = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout
        assert first.poll() is None  # the first window is still open
    finally:
        first.send_signal(signal.SIGINT)  # closes the window as a user would
        first.communicate(timeout=60)
    assert first.returncode == 0


def test_a_data_folder_that_cannot_be_made_does_not_stop_the_start(
    qapp: QApplication, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("where the data folder should be")
    inst = SingleInstance(blocker / "data")
    assert inst.claim_or_report() is None  # the window starts; the engine explains the folder
    assert not inst.listening
    inst.release()


def test_a_polite_kill_closes_the_window_as_a_user_would(tmp_path: Path) -> None:
    """SIGTERM (a logout, ``kill``) shuts the engine and the embedded backend down in
    order, like closing the window: exit code 0, and no semaphore of the image workers
    left behind for Python's resource tracker to report."""
    env = _env(IMAGEGEN_DATA_DIR=str(tmp_path / "data"))
    cmd = [sys.executable, "-m", "gui.cli"]
    app = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "data" / "backend").exists() and time.monotonic() < deadline:
            assert app.poll() is None, "the window exited early"
            time.sleep(0.1)
        time.sleep(1.0)  # the backend and its image workers are up
    finally:
        app.send_signal(signal.SIGTERM)
        _, stderr = app.communicate(timeout=60)
    assert app.returncode == 0, stderr
    assert "leaked semaphore" not in stderr, stderr
