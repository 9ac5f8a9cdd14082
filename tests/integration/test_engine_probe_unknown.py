"""A feature probe that got no verdict chooses no flow (gui/engine/capabilities.py).

Before, a failed ``GET /healthz`` (a server restarting, a gateway's 502) sent that submit
down the seed's flow against a ``server-billing`` backend: the client reserved and
acquired a slot itself while the server bound them to its job, which is how engineer B's
crash harness met a charged "failed" tile. Now the probe is asked again, the submit waits
for its verdict, and without one it fails before anything is reserved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.server import EmbeddedBackend
from bench.reliability.proxy import DROP_BEFORE, PASS, FaultAction, FaultProxy, RequestInfo
from catalog import cost
from gui.engine import capabilities
from gui.engine.events import GenerationCompleted, GenerationFailed
from tests.database_fixtures import BackendDatabases
from tests.integration.engine_support import (
    GENERATE_PATH,
    QUEUED_REQUEST,
    START_CREDITS,
    Recorder,
    engine_for,
    holds_of,
    proxied_backend,
)

HEALTH_PATH = "/healthz"


@pytest.fixture
def proxied(
    tmp_path: Path, backend_database: BackendDatabases
) -> Iterator[tuple[EmbeddedBackend, FaultProxy]]:
    with proxied_backend(tmp_path / "backend", backend_database) as pair:
        yield pair


@pytest.fixture(autouse=True)
def quick_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capabilities, "VERDICT_RETRY_DELAYS", (0.05, 0.05, 0.05))


def lose_health(times: int | None, action: FaultAction) -> Recorder:
    lost: list[int] = []

    def fault(info: RequestInfo) -> FaultAction:
        if info.path == HEALTH_PATH and (times is None or len(lost) < times):
            lost.append(info.index)
            return action
        return PASS

    return Recorder(fault)


@pytest.mark.parametrize(
    "action", [DROP_BEFORE, FaultAction.error(502)], ids=["unreachable", "gateway-502"]
)
async def test_a_probe_lost_at_first_waits_for_the_verdict_then_takes_the_one_call_path(
    proxied: tuple[EmbeddedBackend, FaultProxy], tmp_path: Path, action: FaultAction
) -> None:
    backend, proxy = proxied
    proxy.rule = recorder = lose_health(3, action)
    user = "probe-late"
    async with engine_for(backend, tmp_path, user_id=user) as h:
        done = await asyncio.wait_for(h.run(QUEUED_REQUEST), 60)
        assert isinstance(done, GenerationCompleted), done
        assert len(recorder.to(HEALTH_PATH)) == 4  # three lost, then the verdict (kept)
        (call,) = recorder.to(GENERATE_PATH)
        body = call.json()
        assert body["idempotencyKey"].startswith("desktop-")
        assert "concurrencySlotId" not in body
        assert recorder.mutations() == []  # the client reserved nothing itself
        (hold,) = holds_of(backend, user)
        assert hold["key"] == body["idempotencyKey"] and hold["outcome"] == "completed"
        after = await h.breakdown()
        model = QUEUED_REQUEST.options.model
        assert (START_CREDITS - after.total, after.reserved) == (cost(model, 1), 0)
        assert h.invariants() == []


async def test_no_verdict_fails_the_submit_before_anything_is_reserved(
    proxied: tuple[EmbeddedBackend, FaultProxy], tmp_path: Path
) -> None:
    backend, proxy = proxied
    proxy.rule = recorder = lose_health(None, DROP_BEFORE)
    user = "probe-never"
    async with engine_for(backend, tmp_path, user_id=user) as h:
        failed = await asyncio.wait_for(h.run(QUEUED_REQUEST), 60)
        assert isinstance(failed, GenerationFailed), failed
        assert (failed.code, failed.retryable) == ("unreachable", True)
        assert failed.message == capabilities.UNREACHABLE
        assert recorder.to(GENERATE_PATH) == [] and recorder.mutations() == []
        assert holds_of(backend, user) == []
        after = await h.breakdown()
        assert (after.total, after.reserved) == (START_CREDITS, 0)
        row = h.engine.journal.get(failed.local_id)
        assert row is not None and row.state == "failed"
        # A second try, the server answering again, takes the one-call path.
        proxy.rule = recorder = Recorder()
        done = await asyncio.wait_for(h.run(QUEUED_REQUEST), 60)
        assert isinstance(done, GenerationCompleted), done
        assert "idempotencyKey" in recorder.to(GENERATE_PATH)[0].json()
        assert recorder.mutations() == []
        assert h.invariants() == []
