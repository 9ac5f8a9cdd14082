"""The benchmarks still run: ``python -m bench --smoke`` gives every row a number.

No timing is asserted (benchmarks are not tests; the figures live in docs/benchmarks.md).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(240)
def test_every_benchmark_produces_a_number_in_smoke_mode(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--json", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=230,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = json.loads(out.read_text())
    # One or more rows per benchmark; a broken benchmark would be a row with no figure.
    assert len(rows) >= len(BENCHMARKS)
    for row in rows:
        assert not row["note"].startswith("BROKEN"), row
        assert isinstance(row["ours"], (int, float)) and math.isfinite(row["ours"]), row
    # The rows that compare with the reference flow have its figure too.
    compared = [r for r in rows if r["reference"] is not None]
    assert {r["name"].split(" ")[0] for r in compared} >= {
        "Submit",
        "First",
        "Completion",
        "Upload",
    }
    assert "imagegen benchmarks (smoke)" in proc.stdout
