"""Guards against a broken Qt binding release, not our code.

PySide6 6.12.0 drops one reference to ``None`` on every call that returns nothing; the
process then aborts (``none_dealloc``) after about a minute of painting. pyproject pins
below it; this test fails loudly if an environment ever gets such a release again.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QPoint


def test_void_calls_do_not_leak_references_to_none() -> None:
    point = QPoint()
    before = sys.getrefcount(None)
    for _ in range(2_000):
        point.setX(1)
    # Other threads may touch None a little; a leaking binding loses one per call.
    assert before - sys.getrefcount(None) < 500
