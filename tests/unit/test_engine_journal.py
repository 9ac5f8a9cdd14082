"""The journal records each step before and after; spawn never swallows a failure."""

from __future__ import annotations

import asyncio
from pathlib import Path

from catalog import Options
from gui.engine.events import BackgroundError, EngineEvent, EventBus
from gui.engine.journal import Journal
from gui.engine.request import EngineRequest
from gui.engine.tasks import spawn


def test_steps_are_recorded_before_and_after_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    request = EngineRequest(
        prompt="p", options=Options("img-nano-banana"), attachments=((b"x", "a.png"),)
    )
    journal.create("g1", request.to_json())
    journal.end("g1", "uploaded", body={"prompt": "p"}, amount=6)
    journal.begin("g1", "slot")
    journal.end("g1", "slot", slot_id="slot-1")
    journal.begin("g1", "credits")
    journal.refuse("g1", "credits")
    journal.begin("g1", "generate")
    journal.close()

    row = Journal(path).get("g1")
    assert row is not None
    assert (row.amount, row.slot_id, row.body) == (6, "slot-1", {"prompt": "p"})
    assert row.done("slot") and not row.done("credits") and row.uncertain("generate")
    assert row.request["attachments"] == ["a.png"]  # bytes are described, never stored
    assert EngineRequest.from_json(row.request).options.model == "img-nano-banana"


def test_unfinished_lists_only_active_rows(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    for local_id in ("a", "b", "c"):
        journal.create(local_id, {"prompt": local_id, "model": "m"})
    journal.finish("a", "completed")
    journal.finish("b", "failed", "It broke.")
    assert [r.local_id for r in journal.unfinished()] == ["c"]
    b = journal.get("b")
    assert b is not None and (b.state, b.error) == ("failed", "It broke.")
    journal.begin("c", "captured")
    assert journal.get("c").uncertain("captured")  # type: ignore[union-attr]
    journal.end("c", "captured")
    assert journal.get("c").done("captured")  # type: ignore[union-attr]


async def test_spawn_publishes_background_errors_and_ignores_cancellation() -> None:
    bus = EventBus()
    seen: list[EngineEvent] = []
    bus.subscribe(seen.append)

    async def boom() -> None:
        raise RuntimeError("The thumbnail cache is full.")

    async def forever() -> None:
        await asyncio.Event().wait()

    failing = spawn(boom(), where="thumbnails", bus=bus)
    waiting = spawn(forever(), where="idle", bus=bus)
    await asyncio.wait([failing])
    waiting.cancel()
    await asyncio.wait([waiting])
    await asyncio.sleep(0)  # done callbacks run on the next loop turn
    assert seen == [BackgroundError("thumbnails", "The thumbnail cache is full.")]
