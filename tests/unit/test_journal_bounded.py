"""The journal stays bounded: settled rows are compacted, ids are looked up through an index,
and the engine carries no test hooks (observers are the harnesses' seam)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gui.engine.journal import Journal


class Heard:
    def __init__(self) -> None:
        self.steps: list[tuple[str, str, str]] = []

    def recorded(self, local_id: str, step: str, phase: str) -> None:
        self.steps.append((local_id, step, phase))


def _tables(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    finally:
        conn.close()
    return [name for (name,) in rows]


def _settle(journal: Journal, local_id: str, state: str = "completed") -> None:
    journal.create(local_id, {"prompt": local_id, "model": "img-nano-banana"})
    journal.end(local_id, "uploaded")
    journal.finish(local_id, state)  # type: ignore[arg-type]


def test_settled_rows_beyond_the_budget_are_compacted(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", keep_settled=3)
    journal.create("still-running", {"prompt": "p", "model": "img-nano-banana"})
    journal.begin("still-running", "generate")
    for n in range(10):
        _settle(journal, f"done-{n}", "failed" if n % 2 else "completed")
    rows = {r.local_id: r for r in journal.all()}
    # The active row always stays (resume needs it); of the settled, the newest three.
    assert set(rows) == {"still-running", "done-7", "done-8", "done-9"}
    assert rows["still-running"].uncertain("generate")
    assert [r.local_id for r in journal.unfinished()] == ["still-running"]
    journal.close()
    # Reopened with a smaller budget, the journal compacts at once.
    reopened = Journal(tmp_path / "j.sqlite3", keep_settled=1)
    assert {r.local_id for r in reopened.all()} == {"still-running", "done-9"}


def test_ids_are_looked_up_through_an_index(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.create("a", {"prompt": "p", "model": "img-nano-banana"})
    journal.end("a", "slot", slot_id="slot-1")
    journal.end("a", "session", session_id="session-1")
    journal.end("a", "loading_row", generation_id="row-1")
    assert journal.knows("slot_id", "slot-1") and not journal.knows("slot_id", "slot-2")
    assert journal.knows("session_id", "session-1") and journal.knows("generation_id", "row-1")
    with pytest.raises(ValueError, match="not an id column"):
        journal.knows("prompt", "p")  # type: ignore[arg-type]
    journal.close()
    conn = sqlite3.connect(tmp_path / "j.sqlite3")
    for column in ("slot_id", "session_id", "generation_id"):
        plan = conn.execute(
            f"EXPLAIN QUERY PLAN SELECT 1 FROM generations WHERE {column} = ? LIMIT 1", ("x",)
        ).fetchall()
        assert any("INDEX generations_by_" in str(step) for step in plan), (column, plan)
    conn.close()


def test_the_observer_hears_each_step_and_nothing_else_is_stored(tmp_path: Path) -> None:
    heard = Heard()
    journal = Journal(tmp_path / "j.sqlite3", observer=heard)
    journal.create("c", {"prompt": "p", "model": "img-nano-banana"})
    journal.begin("c", "captured")
    journal.end("c", "captured")
    journal.finish("c", "completed")
    assert heard.steps == [
        ("c", "captured", "begin"),
        ("c", "captured", "end"),
        ("c", "finish", "end"),
    ]
    assert _tables(journal.path) == ["generations"]  # no per-step history table


def test_an_older_journals_step_history_is_dropped_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    Journal(path).close()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE steps (local_id TEXT, step TEXT, phase TEXT, at REAL)")
    conn.executemany(
        "INSERT INTO steps VALUES (?, 'generate', 'end', 0)", [(str(n),) for n in range(500)]
    )
    conn.commit()
    conn.close()
    Journal(path).close()
    assert _tables(path) == ["generations"]
