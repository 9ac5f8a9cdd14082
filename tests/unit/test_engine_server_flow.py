"""The one-call path's pieces without a server: which failed answers are asked again with
the same key, how the keyed body and the server's ``billing`` are read, the capability
probe (asked once per backend, off the submit path), and the 402 / 429 sentences."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from catalog import Options
from gui.engine import capabilities
from gui.engine.api_client import (
    ApiClient,
    BackendError,
    GenerateResult,
    NetworkError,
    error_from_response,
    parse_billing,
)
from gui.engine.capabilities import BackendFeatures
from gui.engine.failures import EngineFailure, describe_failure
from gui.engine.flow import GenerationRun
from gui.engine.journal import Journal
from gui.engine.request import EngineRequest
from gui.engine.server_flow import (
    RESEND_DELAYS,
    ServerFlow,
    answer_lost,
    delivered,
    keyed_body,
    new_key,
)
from gui.engine.tokens import StaticTokenProvider

API = "http://api.test"


@pytest.mark.parametrize(
    ("status", "code", "lost"),
    [
        (0, "network", True),
        (409, "request_in_progress", True),
        (504, "still_running", True),
        (502, "http_502", True),  # a gateway's page
        (502, "bad_gateway", True),  # a proxy's JSON: not one of our codes
        (500, "internal", True),
        (503, "http_503", True),
        (502, "provider_failed", False),  # our server's verdict, settled by the route
        (502, "provider_unavailable", False),
        (502, "rehost_failed", False),
        (402, "insufficient_credits", False),
        (429, "too_many_generations", False),
        (429, "rate_limited", False),
        (422, "idempotency_key_mismatch", False),
        (400, "invalid_request", False),
        (404, "session_not_found", False),
    ],
)
def test_which_answers_are_asked_again_by_key(status: int, code: str, lost: bool) -> None:
    assert answer_lost(BackendError(status, code, "x")) is lost


def test_the_keyed_body_names_the_session_or_its_title() -> None:
    body = {"prompt": "a   fox\nin snow", "model": "m"}
    key = new_key()
    assert key.startswith("desktop-") and 8 <= len(key) <= 128
    new = keyed_body(body, key, None, body["prompt"])
    assert new == {**body, "idempotencyKey": key, "sessionTitle": "a fox in snow"}
    existing = keyed_body(body, key, "s1", body["prompt"])
    assert existing == {**body, "idempotencyKey": key, "sessionId": "s1"}
    assert body == {"prompt": "a   fox\nin snow", "model": "m"}  # not changed in place


def test_billing_and_error_details_are_read() -> None:
    billing = parse_billing(
        {
            "idempotencyKey": "k" * 8,
            "slotId": "slot1",
            "amount": 3,
            "sessionId": "s1",
            "generationId": "g1",
            "settled": False,
        }
    )
    assert billing is not None
    assert (billing.slot_id, billing.session_id, billing.generation_id) == ("slot1", "s1", "g1")
    assert billing.amount == 3.0 and not billing.settled
    assert parse_billing({"slotId": "x"}) is None and parse_billing(None) is None
    resp = httpx.Response(
        429,
        json={"error": "Too many.", "code": "too_many_generations", "limit": 4, "active": 4},
        headers={"Retry-After": "5"},
    )
    exc = error_from_response(resp)
    assert exc.details == {"limit": 4, "active": 4} and exc.retry_after == 5.0
    assert delivered({"cancelled": False, "billing": {"outcome": "completed"}})
    assert not delivered({"cancelled": True, "billing": {"outcome": "cancelled"}})
    assert not delivered(None)


def test_the_servers_refusals_read_like_the_seeds() -> None:
    slots = describe_failure(
        BackendError(429, "too_many_generations", "server words", details={"limit": 6})
    )
    assert slots.message == "You already have 6 generations running. Wait for one to finish."
    assert (slots.code, slots.retryable) == ("slot_limit", True)
    credits = describe_failure(BackendError(402, "insufficient_credits", "Not enough credits."))
    assert (credits.message, credits.code, credits.retryable) == (
        "Not enough credits.",
        "credits",
        False,
    )


def _api() -> ApiClient:
    return ApiClient(API, StaticTokenProvider("t"))


@respx.mock
async def test_the_probe_asks_once_per_backend() -> None:
    route = respx.get(f"{API}/healthz").mock(
        return_value=httpx.Response(200, json={"ok": True, "features": ["server-billing"]})
    )
    api = _api()
    features = BackendFeatures(api)
    features.probe_soon()
    features.probe_soon()  # already running: no second probe
    assert await features.server_billing() and await features.server_billing()
    assert route.call_count == 1
    await api.aclose()


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(404),
        httpx.Response(200, json={"ok": True}),
        httpx.Response(200, json={"ok": True, "features": ["cancel"]}),
        httpx.Response(200, text="ok"),
    ],
    ids=["no-route", "no-field", "not-listed", "not-json"],
)
@respx.mock
async def test_a_backend_that_does_not_advertise_gets_the_seeds_flow(
    answer: httpx.Response,
) -> None:
    route = respx.get(f"{API}/healthz").mock(return_value=answer)
    api = _api()
    features = BackendFeatures(api)
    assert not await features.server_billing()
    assert not await features.server_billing()
    assert route.call_count == 1  # a verdict: kept
    await api.aclose()


@respx.mock
async def test_no_verdict_is_not_kept_and_a_forced_setting_never_asks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One retry per probe: a probe with no verdict asks twice, then gives up.
    monkeypatch.setattr(capabilities, "VERDICT_RETRY_DELAYS", (0.01,))
    route = respx.get(f"{API}/healthz")
    route.side_effect = [
        httpx.ConnectError("down"),
        httpx.Response(503, text="busy"),  # a gateway's 503: still no verdict
        httpx.ConnectError("down"),
        httpx.Response(200, json={"features": ["server-billing"]}),
    ]
    api = _api()
    features = BackendFeatures(api)
    # No verdict chooses no flow (never the seed's flow on a guess): the submit fails,
    # retryable, and the verdict is not kept.
    with pytest.raises(EngineFailure) as failed:
        await features.server_billing()
    assert (failed.value.code, failed.value.retryable) == ("unreachable", True)
    assert "nothing was charged" in failed.value.message
    assert route.call_count == 2
    assert await features.server_billing()  # asked again: lost once, then the verdict
    assert await features.server_billing()  # kept
    assert route.call_count == 4
    assert not await BackendFeatures(api, forced=False).server_billing()
    assert await BackendFeatures(api, forced=True).server_billing()
    assert route.call_count == 4
    await api.aclose()


class ScriptedApi:
    """Answers generate calls from a script: exceptions are raised, results returned."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.bodies: list[dict[str, Any]] = []

    async def generate(self, body: dict[str, Any]) -> GenerateResult:
        self.bodies.append(body)
        answer = self.script.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        assert isinstance(answer, GenerateResult)
        return answer


def _flow(tmp_path: Path, script: list[Any]) -> tuple[ServerFlow, ScriptedApi, list[float]]:
    naps: list[float] = []

    async def sleep(seconds: float) -> None:
        naps.append(seconds)
        await asyncio.sleep(0)

    api = ScriptedApi(script)
    flow = ServerFlow(api, Journal(tmp_path / "journal.sqlite3"), 60.0, sleep=sleep)  # type: ignore[arg-type]
    return flow, api, naps


def _run(flow: ServerFlow) -> GenerationRun:
    run = GenerationRun(local_id="r1", request=EngineRequest(prompt="a fox", options=Options("m")))
    run.body = keyed_body({"prompt": "a fox", "model": "m"}, "desktop-abcdefgh", None, "a fox")
    flow.journal.create(run.local_id, run.request.to_json())
    return run


async def test_lost_answers_are_sent_again_with_the_same_body(tmp_path: Path) -> None:
    in_progress = BackendError(409, "request_in_progress", "wait", retry_after=2.0)
    billing = {"idempotencyKey": "desktop-abcdefgh", "slotId": "sl", "sessionId": "s1"}
    answer = GenerateResult(request_id="req1", billing=parse_billing(billing | {"amount": 3}))
    flow, api, naps = _flow(tmp_path, [NetworkError("lost"), in_progress, answer])
    run = _run(flow)
    await flow.submit(run)
    assert len(api.bodies) == 3 and all(b == run.body for b in api.bodies)
    assert naps == [RESEND_DELAYS[0], 2.0]  # Retry-After honoured
    assert (run.request_id, run.session_id, run.slot_id) == ("req1", "s1", "sl")
    row = flow.journal.get("r1")
    assert row is not None and row.done("generate") and row.session_id == "s1"
    assert run.submitted.is_set() and not run.server_settled


async def test_the_budget_of_lost_answers_is_bounded(tmp_path: Path) -> None:
    script: list[Any] = [NetworkError("lost")] * (len(RESEND_DELAYS) + 1)
    flow, api, naps = _flow(tmp_path, script)
    run = _run(flow)
    with pytest.raises(NetworkError):
        await flow.submit(run)
    assert len(api.bodies) == len(RESEND_DELAYS) + 1 and naps == list(RESEND_DELAYS)
    row = flow.journal.get("r1")
    assert row is not None and row.uncertain("generate")  # the next start sends it again
    assert run.submitted.is_set() and not run.server_settled


async def test_a_verdict_is_not_asked_again(tmp_path: Path) -> None:
    refused = BackendError(402, "insufficient_credits", "Not enough credits.")
    flow, api, _ = _flow(tmp_path, [refused])
    run = _run(flow)
    with pytest.raises(BackendError):
        await flow.submit(run)
    assert len(api.bodies) == 1 and run.server_settled  # nothing held: nothing to cancel
