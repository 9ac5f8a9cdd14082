"""`imagegen generate` end to end: against a running backend, and with its own embedded one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from backend.server import EmbeddedBackend
from gui.app import generate_main as main
from tests.conftest import dev_token

ROOT = Path(__file__).resolve().parents[2]


def _deployment_args(backend: EmbeddedBackend) -> list[str]:
    return [
        "--api-url",
        backend.base_url,
        "--convex-url",
        backend.convex_url,
        "--token",
        dev_token(backend, "cli-user"),
    ]


def test_generate_waits_and_saves_files(
    backend: EmbeddedBackend,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("IMAGEGEN_DATA_DIR", str(tmp_path / "client"))
    out = tmp_path / "out"
    code = main(
        [
            "--model",
            "img-nano-banana",
            "--prompt",
            "a lantern",
            "--num-images",
            "2",
            "--aspect-ratio",
            "16:9",
            "--wait",
            "--json",
            "--out",
            str(out),
            *_deployment_args(backend),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    assert result["status"] == "completed" and len(result["files"]) == 2
    for file in result["files"]:
        assert Path(file).parent == out
        assert Image.open(file).size == (1344, 768)
    assert "queued" in captured.err and "saving" in captured.err  # progress on stderr


def test_generate_failure_exits_non_zero_with_the_sentence(
    backend: EmbeddedBackend,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("IMAGEGEN_DATA_DIR", str(tmp_path / "client"))
    code = main(
        [
            "--model",
            "img-gpt-image-1",
            "--prompt",
            "a fox",
            "--aspect-ratio",
            "16:9",
            *_deployment_args(backend),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert "GPT-Image 1 does not offer aspect ratio '16:9'" in captured.err
    image = tmp_path / "notes.txt"
    image.write_text("hello")
    code = main(
        [
            "--model",
            "img-nano-banana-edit",
            "--prompt",
            "a fox",
            "--image",
            str(image),
            *_deployment_args(backend),
        ]
    )
    assert code == 1
    assert "notes.txt is not an image" in capsys.readouterr().err


def test_generate_starts_the_embedded_backend_when_none_is_configured(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGEGEN_")}
    env.update(
        IMAGEGEN_DATA_DIR=str(tmp_path / "client"),
        PYTHONPATH=str(ROOT),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gui.cli",
            "generate",
            "--model",
            "img-imagen4-preview",
            "--prompt",
            "a quiet street",
            "--wait",
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    files = proc.stdout.split()
    assert len(files) == 1 and Image.open(files[0]).size == (1024, 1024)


def test_urls_of_the_embedded_backend_come_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --out the printed URLs die with the command's own backend: say so."""
    for name in ("IMAGEGEN_API_URL", "IMAGEGEN_CONVEX_URL", "IMAGEGEN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IMAGEGEN_DATA_DIR", str(tmp_path / "client"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    code = main(["--model", "img-imagen4-preview", "--prompt", "a quiet street"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.strip().startswith("http://127.0.0.1:")
    assert "Pass --out DIR to save the files." in captured.err
