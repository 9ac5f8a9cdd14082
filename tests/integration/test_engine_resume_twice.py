"""A failing generation whose clean-up is cut by a kill, twice (the first run and the
first resume both die inside the undo): the third start still shows the original reason,
not a generic sentence, and nothing is charged or left reserved.

Also a driver: ``python -m tests.integration.test_engine_resume_twice BASE USER DIR`` resumes
the journal in DIR (with IMAGEGEN_TEST_KILL_AT set, it dies at that step).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from backend.server import EmbeddedBackend
from gui.engine.events import GenerationFailed
from tests.conftest import BackendFactory
from tests.integration.engine_kill_driver import drive
from tests.integration.engine_support import (
    FAST_POLL,
    KILL_DRIVER,
    engine_for,
    run_until_killed,
)

REASON = "The provider could not generate this image: the prompt asked for a simulated failure."


async def test_the_reason_survives_two_interrupted_clean_ups(
    backend_factory: BackendFactory, tmp_path: Path
) -> None:
    # The seed's flow: a deployment that does not advertise server-billing.
    backend: EmbeddedBackend = backend_factory(advertise_server_billing=False)
    user, data_dir = "resume-twice", tmp_path / "client"
    base = backend.base_url
    # Every undo begins by saving the reason into the row (the server settled the money).
    kill_at = "error_saved:begin"
    await run_until_killed(
        KILL_DRIVER,
        *(base, user, str(data_dir), "img-nano-banana", "a harbour [fail]"),
        kill_at=kill_at,
    )
    await run_until_killed(
        "tests.integration.test_engine_resume_twice", base, user, str(data_dir), kill_at=kill_at
    )
    async with engine_for(backend, data_dir, user_id=user) as h:
        (row,) = h.engine.journal.all()
        assert row.state == "active" and row.uncertain("error_saved") and row.error == REASON
        resumed = await h.engine.start()
        await h.engine.wait_idle()
        assert resumed == [row.local_id]
        event = h.terminal(row.local_id)
        assert isinstance(event, GenerationFailed) and event.message == REASON
        (row,) = h.engine.journal.all()
        assert (row.state, row.error) == ("failed", REASON)
        sessions = await h.gateway.get_user_sessions()
        (gen,) = await h.gateway.get_session_generations(sessions[0].id)
        assert gen.error == REASON and not gen.is_loading
        after = await h.breakdown()
        assert (200 - after.total, after.reserved) == (0, 0)
        assert h.invariants() == []


async def _resume(base_url: str, user_id: str, data_dir: str) -> int:
    return await drive(base_url, user_id, data_dir, policy=FAST_POLL)


if __name__ == "__main__":
    sys.exit(asyncio.run(_resume(*sys.argv[1:4])))
