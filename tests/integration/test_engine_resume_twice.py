"""A failing generation whose clean-up is cut by a kill, twice (the first run and the
first resume both die inside the undo): the third start still shows the original reason,
not a generic sentence, and nothing is charged or left reserved.

Also a driver: ``python -m tests.integration.test_engine_resume_twice BASE USER DIR`` resumes
the journal in DIR (with IMAGEGEN_TEST_KILL_AT set, it dies at that step).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from backend.server import EmbeddedBackend
from gui.engine.events import GenerationFailed
from tests.integration.engine_kill_driver import drive
from tests.integration.engine_support import FAST_POLL, engine_for

ROOT = Path(__file__).resolve().parents[2]
REASON = "The provider could not generate this image: the prompt asked for a simulated failure."


async def _subprocess(module: str, *args: str, kill_at: str) -> None:
    env = {**os.environ, "IMAGEGEN_TEST_KILL_AT": kill_at, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == -signal.SIGKILL, (module, proc.returncode, err.decode()[-2000:])


async def test_the_reason_survives_two_interrupted_clean_ups(
    backend: EmbeddedBackend, tmp_path: Path
) -> None:
    user, data_dir = "resume-twice", tmp_path / "client"
    base = backend.base_url
    kill_at = "released:begin"
    await _subprocess(
        "tests.integration.engine_kill_driver",
        *(base, user, str(data_dir), "img-nano-banana", "a harbour [fail]"),
        kill_at=kill_at,
    )
    await _subprocess(
        "tests.integration.test_engine_resume_twice", base, user, str(data_dir), kill_at=kill_at
    )
    async with engine_for(backend, data_dir, user_id=user) as h:
        (row,) = h.engine.journal.all()
        assert row.state == "active" and row.uncertain("released") and row.error == REASON
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
