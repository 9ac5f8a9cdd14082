"""`imagegen models` and the dispatch of the other subcommands."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gui import cli

SEED_IDS = {
    "img-imagen4-preview", "img-imagen3", "img-nano-banana", "img-nano-banana-edit",
    "img-nano-banana-pro", "img-nano-banana-pro-edit", "img-seedream-v4",
    "img-seedream-v4-edit", "img-seedream-v45", "img-seedream-v45-edit",
    "img-flux-kontext-pro", "img-gpt-image-1", "img-gpt-image-1-edit", "img-gpt-image-1-5",
    "img-gpt-image-1-5-edit", "img-hunyuan-v21", "img-hunyuan-v3", "img-wan-v22-a14b",
    "img-reve", "img-reve-edit", "img-kling-o1", "img-flux-2-max", "img-flux-2-max-edit",
}  # fmt: skip
HIDDEN = {"img-hunyuan-v21", "img-wan-v22-a14b"}


def test_models_json_lists_the_23_ids_with_prices(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["models", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {m["id"] for m in doc["models"]} == SEED_IDS
    flux = next(m for m in doc["models"] if m["id"] == "img-flux-2-max")
    assert {p["aspectRatio"]: p["costPerImage"] for p in flux["pricing"]} == {
        "1:1": 7, "4:3": 8, "3:4": 8, "16:9": 9, "9:16": 9,
    }  # fmt: skip


def _table_ids(out: str) -> set[str]:
    return {line.split()[0] for line in out.splitlines() if line.startswith("img-")}


def test_models_table_hides_the_two_unlisted_models(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    assert _table_ids(out) == SEED_IDS - HIDDEN
    assert "2 models hidden from the picker" in out
    header = out.splitlines()[0].split()
    assert header == ["id", "label", "provider", "mode", "attachments", "ratios", "options", "cost"]


def test_models_all_table_is_aligned(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["models", "--all"]) == 0
    out = capsys.readouterr().out
    assert _table_ids(out) == SEED_IDS
    lines = out.splitlines()
    # Every column starts at the same offset on every row: check the "provider" column.
    col = lines[0].index("provider")
    for line in lines[2:25]:
        assert line[col - 2 : col] == "  " and line[col] != " ", line
    kling = next(line for line in lines if line.startswith("img-kling-o1 "))
    assert "1 to 10" in kling and "resolution 1K/2K" in kling and "queued" in kling
    gpt_edit = next(line for line in lines if line.startswith("img-gpt-image-1-edit "))
    assert "exactly 1" in gpt_edit and "azure" in gpt_edit


def test_unknown_subcommand_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as err:
        cli.main(["nonsense"])
    assert err.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.fixture
def fake_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real importable module whose main(argv) records its argv and returns 7."""
    (tmp_path / "fake_imagegen_target.py").write_text(
        "CALLS = []\ndef main(argv):\n    CALLS.append(list(argv))\n    return 7\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "fake_imagegen_target"
    sys.modules.pop("fake_imagegen_target", None)


@pytest.mark.parametrize("command", ["serve", "generate"])
def test_passthrough_commands_get_their_flags_untouched(
    command: str, fake_module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(cli._PASSTHROUGH, command, (fake_module, "main"))
    argv = [command, "--wait", "--image", "a.png", "-n", "2", "a prompt"]
    assert cli.main(argv) == 7
    assert sys.modules[fake_module].CALLS == [argv[1:]]


def test_no_subcommand_opens_the_window_with_its_flags(
    fake_module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_WINDOW", (fake_module, "main"))
    assert cli.main([]) == 7
    assert cli.main(["--data-dir", "/tmp/x"]) == 7
    assert sys.modules[fake_module].CALLS == [[], ["--data-dir", "/tmp/x"]]


def test_missing_module_is_a_clear_message_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cli._PASSTHROUGH, "serve", ("backend.no_such_module", "serve_main"))
    assert cli.main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "`imagegen serve` is not available" in err and "backend.no_such_module" in err


def test_missing_function_is_a_clear_message_and_exit_2(
    fake_module: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cli._PASSTHROUGH, "generate", (fake_module, "nope"))
    assert cli.main(["generate"]) == 2
    assert "has no nope()" in capsys.readouterr().err


def test_models_runs_as_a_program_without_loading_qt() -> None:
    # `imagegen models` must work on a machine where the GUI stack cannot load.
    code = (
        "import sys; from gui.cli import main; rc = main(['models', '--json']); "
        "assert 'PySide6' not in sys.modules and 'backend' not in sys.modules; sys.exit(rc)"
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["models"]) == 23
