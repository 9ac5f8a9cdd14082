"""The one-call path killed (SIGKILL) at each of its journaled steps, and right after the
server took the generate call but before its answer arrived; the next start resumes by key:
it sends the same key again (the server answers its first answer: one job), polls, or
cancels by key. Charged exactly the delivered images, nothing left reserved or active.
All cases run in parallel on one backend, each as its own user."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backend.server import EmbeddedBackend
from bench.reliability.proxy import DROP_AFTER, PASS, FaultAction, FaultProxy, RequestInfo
from gui.engine.events import GenerationCompleted, GenerationFailed
from tests.database_fixtures import BackendDatabases
from tests.integration.engine_kill_driver import DEADLINE_ENV, DIE_ENV
from tests.integration.engine_support import (
    GENERATE_PATH,
    KILL_DRIVER,
    engine_for,
    holds_of,
    proxied_backend,
    run_until_killed,
)

MODEL = "img-nano-banana"
COST = 3
OK, FAIL = "a harbour at dawn", "a harbour [fail]"
LOSE = "[lose the answer]"  # prompts with this tag lose their first generate answer

# (kill point or "lost", prompt, extra env, expected outcome (None: either, by a race),
# whether a hold exists)
Case = tuple[str, str, dict[str, str], str | None, bool]
CASES: list[Case] = [
    ("uploaded:end", OK, {}, "failed", False),  # the key was never sent
    ("generate:begin", OK, {}, "completed", True),  # sent at the next start
    ("generate:end", OK, {}, "completed", True),
    ("polled:end", OK, {}, "completed", True),
    ("finish:end", OK, {}, "completed", True),
    ("generate:end", FAIL, {}, "failed", True),
    # The engine's deadline passed and the kill came before its cancel was sent: the next
    # start cancels by key (the job may have delivered meanwhile: then it completed).
    ("cancel:begin", OK, {DEADLINE_ENV: "0.1"}, None, True),
    # The server took the call, its answer was lost, and the client died.
    ("lost", OK + " " + LOSE, {DIE_ENV: "1"}, "completed", True),
]


@pytest.fixture
def proxied(
    tmp_path: Path, backend_database: BackendDatabases
) -> Iterator[tuple[EmbeddedBackend, FaultProxy]]:
    with proxied_backend(
        tmp_path / "backend", backend_database, local_queue_s=0.5, local_run_s=0.5
    ) as pair:
        yield pair


def lose_first_answers() -> Callable[[RequestInfo], FaultAction]:
    """Lose the answer of the first generate call of a body tagged LOSE (after the server
    processed it); a repeat of the same body passes."""
    lost: set[bytes] = set()

    def rule(info: RequestInfo) -> FaultAction:
        if info.path == GENERATE_PATH and LOSE.encode() in info.body and info.body not in lost:
            lost.add(info.body)
            return DROP_AFTER
        return PASS

    return rule


async def _case(backend: EmbeddedBackend, tmp_path: Path, n: int, case: Case) -> None:
    kill_at, prompt, extra, expected, held = case
    user, data_dir = f"one-call-crash-{n}", tmp_path / f"client-{n}"
    await run_until_killed(
        KILL_DRIVER,
        *(backend.base_url, user, str(data_dir), MODEL, prompt),
        kill_at=None if kill_at == "lost" else kill_at,
        env=extra,
    )
    async with engine_for(backend, data_dir, user_id=user) as h:
        resumed = await h.engine.start()
        await h.engine.wait_idle()
        (row,) = h.engine.journal.all()
        assert row.state in ("completed", "failed"), (kill_at, row)
        if expected is not None:
            assert row.state == expected, (kill_at, row.state, row.error)
        expected = row.state
        if kill_at == "cancel:begin":
            assert ("cancel", "end") in h.steps.of(row.local_id)
        if resumed:
            event = h.terminal(resumed[0])
            kind = GenerationCompleted if expected == "completed" else GenerationFailed
            assert isinstance(event, kind), (kill_at, event)
        holds = holds_of(backend, user)
        assert len(holds) == int(held), (kill_at, holds)  # one job at most, never two
        after = await h.breakdown()
        charged = 200 - after.total
        assert (charged, after.reserved) == ((COST if expected == "completed" else 0), 0), kill_at
        sessions = await h.gateway.get_user_sessions()
        gens = [g for s in sessions for g in await h.gateway.get_session_generations(s.id)]
        assert not [g for g in gens if g.is_loading], kill_at
        if expected == "completed":
            (gen,) = gens
            assert gen.id == row.generation_id and gen.image_urls, kill_at
            h.fetch(gen.image_urls[0])
        assert h.invariants() == [], (kill_at, h.invariants())
        assert await h.engine.start() == []  # nothing left to resume


async def test_killed_on_the_one_call_path_then_resumed_by_key(
    proxied: tuple[EmbeddedBackend, FaultProxy], tmp_path: Path
) -> None:
    backend, proxy = proxied
    proxy.rule = lose_first_answers()
    await asyncio.gather(*(_case(backend, tmp_path, n, c) for n, c in enumerate(CASES)))
