"""Poll a provider job until it finishes or a deadline passes (used by ``wait``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from backend.providers.base import JobState

TERMINAL = frozenset({"COMPLETED", "FAILED"})


async def poll_until_terminal(
    check: Callable[[], Awaitable[JobState]], timeout_s: float, interval_s: float
) -> JobState:
    """Call ``check`` every ``interval_s`` until the job is terminal or ``timeout_s`` passed.

    Always checks at least once; returns the last state seen (possibly still queued) so the
    status route can answer "still queued" when the long-poll window closes.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(0.0, timeout_s)
    while True:
        state = await check()
        remaining = deadline - loop.time()
        if state.status in TERMINAL or remaining <= 0:
            return state
        await asyncio.sleep(min(interval_s, remaining))
