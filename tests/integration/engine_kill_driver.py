"""Runs one generation through a real engine, for the crash tests.

``python -m tests.integration.engine_kill_driver BASE_URL USER_ID DATA_DIR MODEL PROMPT``
With IMAGEGEN_TEST_KILL_AT=<step>:<begin|end> this process SIGKILLs itself right after the
journal records that step (``KillAtStep``, the journal's observer: the engine has no kill
switch of its own); the test then resumes with a fresh engine on the same journal.
With IMAGEGEN_TEST_DIE_ON_LOST_ANSWER=1 it SIGKILLs itself when a generate call gets no
answer (a fault proxy lost it), before asking again. IMAGEGEN_TEST_POLL_DEADLINE_S sets the
engine's hard deadline.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from catalog import Options
from gui.engine.api_client import ApiClient, GenerateResult, NetworkError
from gui.engine.convex_gateway import ConvexGateway
from gui.engine.engine import GenerationEngine
from gui.engine.journal import Journal
from gui.engine.polling import PollPolicy
from gui.engine.request import EngineRequest
from gui.engine.tokens import EmbeddedTokenProvider

POLICY = PollPolicy(initial_s=0.05, factor=1.5, max_s=0.2, deadline_s=30, long_poll_s=2.0)
DIE_ENV = "IMAGEGEN_TEST_DIE_ON_LOST_ANSWER"
DEADLINE_ENV = "IMAGEGEN_TEST_POLL_DEADLINE_S"
KILL_ENV = "IMAGEGEN_TEST_KILL_AT"


class KillAtStep:
    """A journal observer that SIGKILLs the process right after ``step:phase`` is recorded."""

    def __init__(self, kill_at: str | None) -> None:
        self.kill_at = kill_at

    def recorded(self, local_id: str, step: str, phase: str) -> None:
        if self.kill_at == f"{step}:{phase}":
            os.kill(os.getpid(), signal.SIGKILL)


class DyingApiClient(ApiClient):
    """Dies the moment a generate call's answer is lost: the server may have taken it."""

    async def generate(self, body: dict[str, Any]) -> GenerateResult:
        try:
            return await super().generate(body)
        except NetworkError:
            os.kill(os.getpid(), signal.SIGKILL)
            raise


async def drive(
    base_url: str,
    user_id: str,
    data_dir: str,
    *,
    policy: PollPolicy = POLICY,
    request: EngineRequest | None = None,
) -> int:
    """One engine on the journal in ``data_dir``: submit ``request``, or (None) resume."""
    if os.environ.get(DEADLINE_ENV):
        deadline = float(os.environ[DEADLINE_ENV])
        policy = replace(policy, deadline_s=deadline, long_poll_s=min(policy.long_poll_s, deadline))
    api_class = DyingApiClient if os.environ.get(DIE_ENV) else ApiClient
    async with httpx.AsyncClient(timeout=30) as client:
        tokens = EmbeddedTokenProvider(base_url, user_id, client=client)
        journal = Journal(
            Path(data_dir) / "journal.sqlite3", observer=KillAtStep(os.environ.get(KILL_ENV))
        )
        engine = GenerationEngine(
            api_class(base_url, tokens, client=client),
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
        base_url, user_id, data_dir, request=EngineRequest(prompt=prompt, options=Options(model))
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:6])))
