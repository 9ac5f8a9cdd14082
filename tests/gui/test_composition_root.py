"""`imagegen` assembled in gui/app.py only: the real entry point opens the window on the
settings it loaded (moving an older version's QSettings theme into client.json on the way)
and the launcher shows what it was handed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_entry_point_assembles_the_window_and_adopts_the_legacy_theme(
    tmp_path: Path,
) -> None:
    config_dir = tmp_path / "config" / "imagegen-desktop"
    config_dir.mkdir(parents=True)
    # Where QSettings kept the theme before client.json did (Qt's INI file on Linux).
    (config_dir / "imagegen.conf").write_text("[General]\ntheme=light\n")
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "share"),
        "IMAGEGEN_DATA_DIR": str(tmp_path / "data"),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(ROOT),
    }
    for name in ("IMAGEGEN_API_URL", "IMAGEGEN_CONVEX_URL", "IMAGEGEN_TOKEN"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-m", "gui.cli", "--smoke-test"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "smoke test passed" in result.stdout
    stored = json.loads((config_dir / "client.json").read_text())
    assert stored == {"theme": "light"}  # moved, and nothing else written on the way
    assert "theme" not in (config_dir / "imagegen.conf").read_text()
