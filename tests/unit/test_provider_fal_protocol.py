"""Fal protocol edges: submit sent once, connect retries, cancel answers, deadlines, reach.

respx stands in for queue.fal.run; fal-client runs for real (fal_support.py).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from backend.config import BackendConfig, provider_sync_timeout
from backend.providers.base import ProviderError
from backend.providers.fal import FalProvider
from backend.providers.fal_references import fal_can_fetch
from catalog import get_model
from tests.unit.fal_support import KEY, QUEUE, app_base, queued_answer, req

ENDPOINT = "fal-ai/gemini-25-flash-image"
CLIENT_TIMEOUT_S = 300.0  # the desktop client's generate timeout


def _submit_routes(mock: respx.MockRouter) -> list[respx.Route]:
    # fal-client's transport falls back to its backup domain on connect failures.
    return [
        mock.post(f"https://{host}/{ENDPOINT}") for host in ("queue.fal.run", "queue.falrun.com")
    ]


@pytest.mark.parametrize(
    ("failure", "status"),
    [(httpx.ReadTimeout("lost"), 504), (httpx.RemoteProtocolError("reset"), 502)],
    ids=["read-timeout", "connection-dropped"],
)
async def test_submit_with_unknown_outcome_is_never_repeated(
    failure: Exception, status: int
) -> None:
    provider = FalProvider(KEY)
    with respx.mock(assert_all_called=False) as mock:
        primary, backup = _submit_routes(mock)
        primary.mock(side_effect=failure)
        with pytest.raises(ProviderError) as info:
            await provider.submit(req("img-nano-banana"))
    assert (info.value.code, info.value.status) == ("provider_submit_unknown", status)
    assert primary.call_count + backup.call_count == 1
    await provider.aclose()


async def test_submit_that_never_left_is_sent_again() -> None:
    provider = FalProvider(KEY)
    with respx.mock(assert_all_called=False) as mock:
        primary, backup = _submit_routes(mock)
        primary.mock(side_effect=[httpx.ConnectError("refused"), queued_answer(ENDPOINT, "r-2")])
        backup.mock(side_effect=httpx.ConnectError("refused"))
        result = await provider.submit(req("img-nano-banana"))
    assert result.job_id == "r-2"
    assert primary.call_count == 2
    await provider.aclose()


@pytest.mark.parametrize(
    ("answer", "accepted"),
    [
        (httpx.Response(202, json={"status": "CANCELLATION_REQUESTED"}), True),
        (httpx.Response(200, json={"status": "OK"}), True),
        (httpx.Response(400, json={"status": "ALREADY_COMPLETED"}), False),
        (httpx.Response(404, json={"status": "NOT_FOUND"}), False),
    ],
    ids=["requested", "ok", "already-completed", "not-found"],
)
async def test_cancel_answers(answer: httpx.Response, accepted: bool) -> None:
    provider = FalProvider(KEY)
    model = get_model("img-seedream-v4")
    assert model is not None
    with respx.mock() as mock:
        route = mock.put(f"{app_base(model.endpoint)}/requests/c-1/cancel").mock(
            return_value=answer
        )
        assert await provider.cancel(model, "c-1") is accepted
    assert route.calls.last.request.headers["Authorization"] == f"Key {KEY}"
    assert str(route.calls.last.request.url) == f"{QUEUE}/fal-ai/bytedance/requests/c-1/cancel"
    await provider.aclose()


async def test_cancel_refused_by_fal_is_a_mapped_error() -> None:
    provider = FalProvider(KEY)
    model = get_model("img-seedream-v4")
    assert model is not None
    with respx.mock() as mock:
        mock.put(f"{app_base(model.endpoint)}/requests/c-2/cancel").mock(
            return_value=httpx.Response(401, json={"detail": "No user found"})
        )
        with pytest.raises(ProviderError) as info:
            await provider.cancel(model, "c-2")
    assert info.value.code == "provider_auth"
    await provider.aclose()


def test_deadline_chain_is_below_the_client_timeout(tmp_path: Path) -> None:
    config = BackendConfig(data_dir=tmp_path)
    assert config.provider_sync_timeout_s < config.sync_deadline_s < CLIENT_TIMEOUT_S
    assert FalProvider(KEY)._sync_timeout_s == config.provider_sync_timeout_s == 180.0
    # Whatever the deadline, the provider's share leaves room for rehosting.
    for deadline in (4.0, 60.0, 240.0, 1000.0):
        assert 0.75 * deadline <= provider_sync_timeout(deadline) < deadline


@pytest.mark.parametrize(
    ("url", "reachable"),
    [
        ("https://img.example.com/files/u/1.png", True),
        ("https://store.test/files/u/1.png", True),
        ("http://203.0.113.7/files/x.png", False),  # documentation range: not global
        ("http://8.8.8.8/x.png", True),
        ("http://127.0.0.1:8765/files/uploads/x.png", False),
        ("http://localhost:8765/files/x.png", False),
        ("http://[::1]:8765/files/x.png", False),
        ("http://10.0.0.5/files/x.png", False),
        ("http://192.168.1.2/files/x.png", False),
        ("http://myhost/files/x.png", False),
        ("http://nas.local/files/x.png", False),
        ("ftp://img.example.com/x.png", False),
    ],
)
def test_what_fal_can_fetch(url: str, reachable: bool) -> None:
    assert fal_can_fetch(url) is reachable
