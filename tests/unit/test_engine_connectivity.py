"""The offline banner's source: ConnectionMonitor publishes an outage once and its end by
itself, through a probe with backoff."""

from __future__ import annotations

import asyncio

import httpx
import respx

from gui.engine.api_client import ApiClient, NetworkError
from gui.engine.connectivity import ConnectionMonitor, http_probe, server_answered
from gui.engine.events import ConnectionChanged, EngineEvent, EventBus
from gui.engine.tokens import StaticTokenProvider


def _monitor(answers: list[bool]) -> tuple[ConnectionMonitor, list[EngineEvent], list[float]]:
    bus = EventBus()
    events: list[EngineEvent] = []
    bus.subscribe(events.append)
    naps: list[float] = []

    async def probe() -> bool:
        return answers.pop(0)

    async def sleep(seconds: float) -> None:
        naps.append(seconds)
        await asyncio.sleep(0)  # yield, as a real sleep does

    return ConnectionMonitor(bus, probe, initial_s=1, factor=2, max_s=3, sleep=sleep), events, naps


async def test_an_outage_is_announced_once_and_ends_by_itself() -> None:
    monitor, events, naps = _monitor([False, False, False, True])
    monitor.report(False, "refused")
    monitor.report(False, "refused again")  # still the same outage: no second event
    assert events == [ConnectionChanged(False, events[0].message)]  # type: ignore[union-attr]
    assert "can't reach the server" in events[0].message.lower()  # type: ignore[union-attr]
    assert monitor._task is not None
    await monitor._task  # the probe runs until the servers answer
    assert events[-1] == ConnectionChanged(True)
    assert naps == [1, 2, 3, 3]  # backoff, capped
    await monitor.close()


async def test_a_successful_call_ends_the_outage_and_stops_the_probe() -> None:
    monitor, events, _ = _monitor([False] * 1000)
    monitor.report(False)
    await asyncio.sleep(0)
    monitor.report(True)
    assert [e.online for e in events] == [False, True]  # type: ignore[union-attr]
    monitor.report(True)
    assert len(events) == 2
    await monitor.close()


@respx.mock
async def test_the_api_client_reports_what_each_call_found() -> None:
    seen: list[bool] = []
    api = ApiClient(
        "http://api.test", StaticTokenProvider("t"), on_reach=lambda ok, _m: seen.append(ok)
    )
    route = respx.get("http://api.test/api/mobile/models")
    route.side_effect = [
        httpx.ConnectError("down"),
        httpx.Response(503),
        httpx.Response(200, json={}),
    ]
    for _ in range(2):
        try:
            await api.models()
        except NetworkError:
            pass
        except Exception as exc:  # the 503 is a BackendError, not a NetworkError
            assert getattr(exc, "status", None) == 503
    await api.models()
    assert seen == [False, False, True]
    await api.aclose()


@respx.mock
async def test_the_http_probe_accepts_any_answer_but_a_gateway_error() -> None:
    respx.get("http://api.test/healthz").mock(return_value=httpx.Response(404))
    convex = respx.get("http://convex.test")
    convex.side_effect = [httpx.ConnectError("down"), httpx.Response(502), httpx.Response(200)]
    async with httpx.AsyncClient() as client:
        probe = http_probe(client, ["http://api.test/healthz", "http://convex.test"])
        assert [await probe() for _ in range(3)] == [False, False, True]


def test_a_502_carrying_our_backends_error_is_an_answer_not_an_outage() -> None:
    provider_failed = httpx.Response(502, json={"error": "The provider failed.", "code": "x"})
    assert server_answered(provider_failed)
    assert not server_answered(httpx.Response(502, text="<html>Bad Gateway</html>"))
    assert not server_answered(httpx.Response(503, json={"message": "no code"}))
    assert server_answered(httpx.Response(500)) and server_answered(httpx.Response(404))
