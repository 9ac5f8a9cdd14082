"""Polling policy against a deployment's status route (respx stands in for it)."""

from __future__ import annotations

import httpx
import pytest
import respx

from gui.engine.api_client import ApiClient, BackendError
from gui.engine.polling import Poller, PollPolicy, PollTimeout

STATUS = "http://api.test/api/generate-images/status"
QUEUED = {"queued": True, "status": "IN_QUEUE", "position": 2}
DONE = {"success": True, "images": [{"url": "http://api.test/files/a.png"}]}


class Tokens:
    def __init__(self) -> None:
        self.calls: list[bool] = []

    async def token(self, force_refresh: bool = False) -> str:
        self.calls.append(force_refresh)
        return f"tok{len(self.calls)}"


class FakeTime:
    """Sleeps advance a fake clock instantly; the delays are recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.delays: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.delays.append(round(seconds, 4))
        self.now += seconds


def _poller(time: FakeTime, tokens: Tokens | None = None, **policy: float) -> Poller:
    api = ApiClient("http://api.test", tokens or Tokens())
    return Poller(api, PollPolicy(**policy), sleep=time.sleep, clock=time.clock)


@respx.mock
async def test_backend_ignoring_wait_falls_back_to_the_web_policy() -> None:
    answers = [QUEUED] * 9 + [DONE]
    route = respx.get(STATUS).mock(side_effect=[httpx.Response(200, json=a) for a in answers])
    time = FakeTime()
    poller = _poller(time)
    images = await poller.poll("req", "img-nano-banana")
    assert images == ("http://api.test/files/a.png",)
    assert poller.supports_wait is False
    params = [c.request.url.params for c in route.calls]
    assert all("wait" in p for p in params[:2]) and not any("wait" in p for p in params[2:])
    # 1 s, x1.5, capped at 10 s.
    assert time.delays == [1.0, 1.5, 2.25, 3.375, 5.0625, 7.5938, 10.0, 10.0, 10.0]


@respx.mock
async def test_backend_rejecting_wait_is_asked_again_without_it() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if "wait" in request.url.params:
            return httpx.Response(400, json={"error": "Unknown parameter wait.", "code": "bad"})
        return httpx.Response(200, json=DONE)

    respx.get(STATUS).mock(side_effect=answer)
    poller = _poller(FakeTime())
    assert await poller.poll("req", "m") == ("http://api.test/files/a.png",)
    assert poller.supports_wait is False


@respx.mock
async def test_network_errors_and_5xx_retry_with_backoff_then_succeed() -> None:
    route = respx.get(STATUS).mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.Response(503, json={"error": "Busy.", "code": "busy"}),
            httpx.Response(
                429,
                json={"error": "Slow down.", "code": "rate_limited"},
                headers={"Retry-After": "7"},
            ),
            httpx.Response(200, json=DONE),
        ]
    )
    time = FakeTime()
    assert await _poller(time).poll("req", "m")
    assert route.call_count == 4
    assert time.delays == [1.5, 2.25, 7.0]


@respx.mock
async def test_401_refreshes_the_token_once() -> None:
    route = respx.get(STATUS).mock(
        side_effect=[
            httpx.Response(401, json={"error": "Expired.", "code": "token_expired"}),
            httpx.Response(200, json=DONE),
        ]
    )
    tokens = Tokens()
    assert await _poller(FakeTime(), tokens).poll("req", "m")
    assert tokens.calls == [False, True]
    assert route.calls[1].request.headers["authorization"] == "Bearer tok2"


@respx.mock
async def test_other_4xx_fails_at_once_with_the_server_sentence() -> None:
    route = respx.get(STATUS).mock(
        return_value=httpx.Response(
            403, json={"error": "This generation belongs to another account.", "code": "forbidden"}
        )
    )
    with pytest.raises(BackendError) as info:
        await _poller(FakeTime()).poll("req", "m")
    assert (info.value.status, info.value.code) == (403, "forbidden")
    assert info.value.message == "This generation belongs to another account."
    assert route.call_count == 1


@respx.mock
async def test_hard_deadline_and_failed_jobs() -> None:
    respx.get(STATUS).mock(return_value=httpx.Response(200, json=QUEUED))
    time = FakeTime()
    with pytest.raises(PollTimeout, match="did not finish within 1 minute;"):
        await _poller(time, deadline_s=60).poll("req", "m")
    assert time.now <= 60 + 10

    respx.get(STATUS).mock(
        return_value=httpx.Response(200, json={"success": False, "error": "Content was blocked."})
    )
    with pytest.raises(BackendError, match=r"Content was blocked\."):
        await _poller(FakeTime()).poll("req", "m")


@respx.mock
async def test_an_outage_longer_than_the_retry_count_is_waited_out_until_the_deadline() -> None:
    # 30 failed polls (network errors and gateway 502s) with a retry count of 3: the job
    # was accepted, so the poller keeps asking (backoff capped at max_s) and gets it.
    failures: list[httpx.Response | Exception] = [httpx.ConnectError("down")] * 20
    failures += [httpx.Response(502, text="Bad Gateway")] * 10
    route = respx.get(STATUS).mock(side_effect=[*failures, httpx.Response(200, json=DONE)])
    time = FakeTime()
    poller = _poller(time, max_network_retries=3)
    assert await poller.poll("req", "m") == ("http://api.test/files/a.png",)
    assert route.call_count == 31
    assert time.delays[:3] == [1.5, 2.25, 3.375] and set(time.delays[3:]) == {3.375}

    # An outage that outlasts the deadline ends there, not before and not much after.
    respx.get(STATUS).mock(side_effect=httpx.ConnectError("down"))
    time = FakeTime()
    with pytest.raises(PollTimeout):
        await _poller(time, deadline_s=120, max_network_retries=2).poll("req", "m")
    assert time.now == pytest.approx(120)


@respx.mock
async def test_a_permanent_502_is_not_retried() -> None:
    body = {"error": "The provider refused our credentials.", "code": "provider_auth"}
    route = respx.get(STATUS).mock(return_value=httpx.Response(502, json=body))
    with pytest.raises(BackendError) as info:
        await _poller(FakeTime()).poll("req", "m")
    assert info.value.code == "provider_auth" and route.call_count == 1
