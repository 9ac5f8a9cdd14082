"""Faults on the wire between the real engine and the real backend (a fault-injecting
proxy in between): each generation ends with a clear message, and the seed's invariants
hold - nothing reserved, every slot terminal, charged exactly when images were saved."""

from __future__ import annotations

import io
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from bench.reliability.engine_kit import (
    FAST_POLL,
    EngineKit,
    StickyTokenProvider,
    Terminal,
    build_engine,
)
from bench.reliability.proxy import (
    DROP_AFTER,
    DROP_BEFORE,
    FaultAction,
    fail_matching,
)
from catalog import Options
from gui.engine.events import GenerationCompleted, GenerationFailed
from gui.engine.polling import PollPolicy
from gui.engine.request import EngineRequest
from tests.reliability.conftest import Proxied, credits_of, invariant_problems, local_jobs

QUEUED = EngineRequest(prompt="a fox in the snow", options=Options("img-nano-banana"))
SYNC = EngineRequest(prompt="a fox in the snow", options=Options("img-imagen4-preview"))
START = 200.0


async def run_one(
    p: Proxied,
    tmp_path: Path,
    request: EngineRequest,
    user: str,
    *,
    policy: PollPolicy = FAST_POLL,
    tokens: StickyTokenProvider | None = None,
    server_billing: bool | None = None,
) -> tuple[EngineKit, Terminal]:
    kit = build_engine(
        p.url,
        p.url + "/convex",
        tmp_path / f"journal-{user}.sqlite3",
        user,
        token_provider=tokens,
        poll_policy=policy,
        server_billing=server_billing,
    )
    # One call first, so the user exists before the engine's concurrent first mutations
    # (that race is test_convex_hostile.py's subject, not this file's).
    await kit.gateway.release_reserved_credits(0)
    try:
        local_id = kit.engine.submit(request)
        await kit.engine.wait_idle()
        return kit, kit.terminal[local_id]
    finally:
        await kit.close()


def assert_settled(p: Proxied, user: str, event: Terminal, request: EngineRequest) -> None:
    """Invariants hold; charged the catalog cost if and only if it completed."""
    assert invariant_problems(p.backend, user) == []
    total, reserved = credits_of(p.backend, user)
    assert reserved == 0
    expected = request.options.cost if isinstance(event, GenerationCompleted) else 0
    assert START - total == expected


def assert_failed_clearly(event: Terminal) -> GenerationFailed:
    assert isinstance(event, GenerationFailed), event
    assert event.message.strip().endswith((".", "!")) and len(event.message) > 15
    assert "Traceback" not in event.message
    return event


async def test_provider_error_fails_with_the_providers_sentence(
    proxied: Proxied, tmp_path: Path
) -> None:
    request = replace(QUEUED, prompt="[fail] a fox")
    _, event = await run_one(proxied, tmp_path, request, "u-provider")
    assert_failed_clearly(event)
    assert_settled(proxied, "u-provider", event, request)


async def test_provider_timeout_ends_at_the_deadline(proxied: Proxied, tmp_path: Path) -> None:
    # The job takes 0.6 s at the provider; the client's hard deadline is 0.2 s.
    policy = replace(FAST_POLL, deadline_s=0.2, long_poll_s=0.1)
    _, event = await run_one(proxied, tmp_path, QUEUED, "u-timeout", policy=policy)
    failed = assert_failed_clearly(event)
    assert "did not finish" in failed.message
    assert_settled(proxied, "u-timeout", event, QUEUED)


@pytest.mark.parametrize("status", [500, 503, 504])
async def test_status_route_5xx_is_retried(proxied: Proxied, tmp_path: Path, status: int) -> None:
    proxied.proxy.rule = fail_matching("/status", FaultAction.error(status), times=2)
    user = f"u-status-{status}"
    _, event = await run_one(proxied, tmp_path, QUEUED, user)
    assert proxied.proxy.rule.hits == 2
    assert isinstance(event, GenerationCompleted), event
    assert_settled(proxied, user, event, QUEUED)


async def test_status_route_502_is_retried(proxied: Proxied, tmp_path: Path) -> None:
    proxied.proxy.rule = fail_matching("/status", FaultAction.error(502), times=2)
    _, event = await run_one(proxied, tmp_path, QUEUED, "u-status-502")
    assert proxied.proxy.rule.hits == 2
    assert isinstance(event, GenerationCompleted), event
    assert_settled(proxied, "u-status-502", event, QUEUED)


async def test_dropped_status_connections_are_retried(proxied: Proxied, tmp_path: Path) -> None:
    proxied.proxy.rule = fail_matching("/status", DROP_BEFORE, times=3)
    _, event = await run_one(proxied, tmp_path, QUEUED, "u-drop-status")
    assert proxied.proxy.rule.hits == 3
    assert isinstance(event, GenerationCompleted), event
    assert_settled(proxied, "u-drop-status", event, QUEUED)


async def test_network_outage_longer_than_retry_count_keeps_the_job(
    proxied: Proxied, tmp_path: Path
) -> None:
    policy = replace(FAST_POLL, initial_s=0.01, max_s=0.02, max_network_retries=4)
    proxied.proxy.rule = fail_matching("/status", DROP_BEFORE, times=10)
    _, event = await run_one(proxied, tmp_path, QUEUED, "u-outage", policy=policy)
    assert proxied.proxy.rule.hits == 10
    assert isinstance(event, GenerationCompleted), event
    assert_settled(proxied, "u-outage", event, QUEUED)


@pytest.mark.parametrize("action", [DROP_BEFORE, DROP_AFTER], ids=["before", "after"])
async def test_dropped_generate_call_is_resolved_by_its_key(
    proxied: Proxied, tmp_path: Path, action: FaultAction
) -> None:
    """The one-call path: the engine repeats the call with the same key; the server starts
    one job (or replays the first one's answer) and charges once."""
    proxied.proxy.rule = fail_matching("/generate-images", action, times=1, method="POST")
    user = f"u-drop-generate-key-{action.kind}"
    _, event = await run_one(proxied, tmp_path, QUEUED, user)
    assert proxied.proxy.rule.hits == 1
    assert isinstance(event, GenerationCompleted), event
    assert_settled(proxied, user, event, QUEUED)
    assert len(local_jobs(proxied.backend)) == 1


@pytest.mark.parametrize("action", [DROP_BEFORE, DROP_AFTER], ids=["before", "after"])
async def test_dropped_generate_call_charges_nothing_on_the_seeds_flow(
    proxied: Proxied, tmp_path: Path, action: FaultAction
) -> None:
    proxied.proxy.rule = fail_matching("/generate-images", action, times=1, method="POST")
    user = f"u-drop-generate-{action.kind}"
    _, event = await run_one(proxied, tmp_path, QUEUED, user, server_billing=False)
    assert_failed_clearly(event)
    assert_settled(proxied, user, event, QUEUED)
    jobs = local_jobs(proxied.backend)
    # Before: the backend never saw it. After: the provider has the job, which the
    # engine's undo cancelled by its slot (nothing is charged for it).
    assert len(jobs) == (0 if action is DROP_BEFORE else 1)


@pytest.mark.parametrize(
    "function",
    [
        "generations:updateGenerationStatus",
        "sessions:updateGeneration",
        "sessions:createSession",
        "sessions:addGenerationToSession",
        "users:captureReservedCredits",
        "users:reserveCredits",
        "generations:acquireGenerationSlot",
    ],
)
async def test_lost_convex_answers_never_charge_twice(
    proxied: Proxied, tmp_path: Path, function: str
) -> None:
    """The mutation commits but its answer is lost; the engine's retry must not apply it
    a second time (double capture) nor leave a slot or a reservation behind."""
    proxied.proxy.rule = fail_matching(
        "/convex/api/mutation", DROP_AFTER, times=1, body_contains=f'"{function}"'
    )
    user = "u-lost-" + function.split(":")[1]
    # The seed's flow: the one-call path makes no Convex mutation at all.
    _, event = await run_one(proxied, tmp_path, SYNC, user, server_billing=False)
    assert proxied.proxy.rule.hits == 1
    assert isinstance(event, GenerationCompleted | GenerationFailed)
    if isinstance(event, GenerationFailed):
        assert_failed_clearly(event)
    assert_settled(proxied, user, event, SYNC)


def _png(path: Path) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (0, 90, 200)).save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return path


@pytest.mark.parametrize("action", [FaultAction.error(503), DROP_BEFORE], ids=["503", "drop"])
async def test_object_store_upload_failure(
    proxied: Proxied, tmp_path: Path, action: FaultAction
) -> None:
    proxied.proxy.rule = fail_matching("/files/", action, times=50, method="PUT")
    request = EngineRequest(
        prompt="edit", options=Options("img-reve-edit"), attachments=(_png(tmp_path / "in.png"),)
    )
    _, event = await run_one(proxied, tmp_path, request, "u-store-put")
    assert proxied.proxy.rule.hits >= 1
    assert_failed_clearly(event)
    assert_settled(proxied, "u-store-put", event, request)


async def test_object_store_write_failure_on_the_server(proxied: Proxied, tmp_path: Path) -> None:
    """The server cannot write outputs (its store directory is replaced by a file)."""
    outputs = proxied.backend.config.data_dir / "files" / "generations"
    shutil.rmtree(outputs, ignore_errors=True)
    outputs.parent.mkdir(parents=True, exist_ok=True)
    outputs.write_text("not a directory")
    _, event = await run_one(proxied, tmp_path, SYNC, "u-store-write")
    assert_failed_clearly(event)
    assert_settled(proxied, "u-store-write", event, SYNC)


async def test_token_expiring_mid_flight_is_refreshed(proxied: Proxied, tmp_path: Path) -> None:
    """A token that expires while the job is queued: the next call gets a 401, the engine
    refreshes once and carries on."""
    keys = proxied.backend.app.state.dev_keys
    # Valid for about one more second (the verifier allows 5 s of clock skew).
    dying = keys.issue_token("u-token", ttl_s=-4)
    tokens = StickyTokenProvider(proxied.url, "u-token", first_token=dying)
    slow = EngineRequest(prompt="a slow fox", options=Options("img-nano-banana"))
    policy = replace(FAST_POLL, long_poll_s=0.3)
    proxied.proxy.rule = fail_matching("/status", FaultAction("delay", delay_s=1.2), times=1)
    _, event = await run_one(proxied, tmp_path, slow, "u-token", policy=policy, tokens=tokens)
    assert tokens.forced >= 1  # the server refused the expired token at least once
    assert isinstance(event, GenerationCompleted), event
    assert_settled(proxied, "u-token", event, slow)
