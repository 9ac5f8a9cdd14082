"""WavespeedProvider.cancel: Wavespeed's documented DELETE /predictions/{id}, only if unfinished.

https://wavespeed.ai/docs/delete-task ("Cancel or delete tasks"): a created task is never
run, a processing one "may not stop immediately", a completed one loses its outputs, so a
finished job is left alone (False) and nothing is deleted.
"""

from __future__ import annotations

import httpx
import pytest
import respx

from backend.providers.base import ProviderError
from backend.providers.wavespeed import WavespeedProvider
from catalog import get_model

KEY = "ws-test-key-777"
JOB_URL = "https://api.wavespeed.ai/api/v3/predictions/pred-1"
MODEL = get_model("img-imagen3")
assert MODEL is not None


def job(status: str) -> httpx.Response:
    data = {"id": "pred-1", "status": status, "outputs": [], "error": ""}
    return httpx.Response(200, json={"code": 200, "message": "success", "data": data})


@pytest.mark.parametrize("status", ["created", "processing"])
async def test_unfinished_job_is_deleted(status: str) -> None:
    provider = WavespeedProvider(KEY)
    with respx.mock() as mock:
        mock.get(f"{JOB_URL}/result").mock(return_value=job(status))
        delete = mock.delete(JOB_URL).mock(
            return_value=httpx.Response(
                200,
                json={
                    "code": 200,
                    "message": "success",
                    "data": {"id": "pred-1", "status": "deleted"},
                },
            )
        )
        assert MODEL is not None
        assert await provider.cancel(MODEL, "pred-1") is True
    assert delete.call_count == 1
    assert delete.calls.last.request.headers["Authorization"] == f"Bearer {KEY}"
    await provider.aclose()


@pytest.mark.parametrize("status", ["completed", "failed"])
async def test_finished_job_is_left_alone(status: str) -> None:
    provider = WavespeedProvider(KEY)
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{JOB_URL}/result").mock(return_value=job(status))
        delete = mock.delete(JOB_URL)
        assert MODEL is not None
        assert await provider.cancel(MODEL, "pred-1") is False
    assert delete.call_count == 0
    await provider.aclose()


@pytest.mark.parametrize(
    ("result", "deleted"),
    [
        (httpx.Response(404, json={"code": 404, "message": "not found"}), None),
        (job("processing"), httpx.Response(404, json={"code": 404, "message": "not found"})),
        (job("processing"), httpx.Response(200, json={"code": 404, "message": "not found"})),
    ],
    ids=["unknown", "gone-before-delete", "envelope-404"],
)
async def test_unknown_job_has_nothing_to_cancel(
    result: httpx.Response, deleted: httpx.Response | None
) -> None:
    provider = WavespeedProvider(KEY)
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{JOB_URL}/result").mock(return_value=result)
        mock.delete(JOB_URL).mock(return_value=deleted or httpx.Response(500))
        assert MODEL is not None
        assert await provider.cancel(MODEL, "pred-1") is False
    await provider.aclose()


async def test_refused_delete_is_a_mapped_error() -> None:
    provider = WavespeedProvider(KEY)
    with respx.mock() as mock:
        mock.get(f"{JOB_URL}/result").mock(return_value=job("processing"))
        mock.delete(JOB_URL).mock(return_value=httpx.Response(401, json={"message": "bad key"}))
        assert MODEL is not None
        with pytest.raises(ProviderError) as info:
            await provider.cancel(MODEL, "pred-1")
    assert info.value.code == "provider_auth"
    assert KEY not in info.value.message
    await provider.aclose()
