"""Runs one generation through a real engine, for the crash tests.

``python -m tests.integration.engine_kill_driver BASE_URL USER_ID DATA_DIR MODEL PROMPT``
With IMAGEGEN_TEST_KILL_AT=<step>:<begin|end> the journal SIGKILLs this process right
after recording that step; the test then resumes with a fresh engine on the same journal.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx

from gui.engine.api_client import ApiClient
from gui.engine.convex_gateway import ConvexGateway
from gui.engine.engine import GenerationEngine
from gui.engine.journal import Journal
from gui.engine.polling import PollPolicy
from gui.engine.request import EngineRequest
from gui.engine.tokens import EmbeddedTokenProvider

POLICY = PollPolicy(initial_s=0.05, factor=1.5, max_s=0.2, deadline_s=30, long_poll_s=2.0)


async def drive(
    base_url: str,
    user_id: str,
    data_dir: str,
    *,
    policy: PollPolicy = POLICY,
    request: EngineRequest | None = None,
) -> int:
    """One engine on the journal in ``data_dir``: submit ``request``, or (None) resume."""
    async with httpx.AsyncClient(timeout=30) as client:
        tokens = EmbeddedTokenProvider(base_url, user_id, client=client)
        journal = Journal(Path(data_dir) / "journal.sqlite3")
        engine = GenerationEngine(
            ApiClient(base_url, tokens, client=client),
            ConvexGateway(base_url + "/convex", tokens, client=client),
            journal,
            poll_policy=policy,
        )
        if request is None:
            await engine.start()
        else:
            engine.submit(request)
        await engine.wait_idle()
        journal.close()
    return 0


async def main(base_url: str, user_id: str, data_dir: str, model: str, prompt: str) -> int:
    return await drive(
        base_url, user_id, data_dir, request=EngineRequest(prompt=prompt, model=model)
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:6])))
