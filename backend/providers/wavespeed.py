"""Wavespeed (Imagen 3) over httpx: submit a prediction, then read its result.

``POST https://api.wavespeed.ai/api/v3/google/imagen3`` answers ``{"data": {"id": ...}}``;
``GET https://api.wavespeed.ai/api/v3/predictions/{id}/result`` answers the job's
``status`` (created / processing / completed / failed) and its ``outputs`` (image URLs).
``DELETE https://api.wavespeed.ai/api/v3/predictions/{id}`` cancels or deletes a task
(Wavespeed's "How to Delete Task", https://wavespeed.ai/docs/delete-task: a created task
never runs, a processing one "may not stop immediately", a completed one loses its outputs),
so ``cancel`` deletes only a job that has not finished.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from backend.providers import errors_map
from backend.providers.base import JobState, ProviderError, ProviderRequest, SubmitResult
from backend.providers.outputs import url_list_images
from backend.providers.payloads import build_payload
from backend.providers.polling import poll_until_terminal
from catalog import ModelSpec

log = logging.getLogger(__name__)

WAVESPEED_API = "https://api.wavespeed.ai/api/v3"
_STATUS = {
    "created": "IN_QUEUE",
    "pending": "IN_QUEUE",
    "queued": "IN_QUEUE",
    "processing": "IN_PROGRESS",
    "running": "IN_PROGRESS",
    "completed": "COMPLETED",
    "succeeded": "COMPLETED",
    "failed": "FAILED",
    "error": "FAILED",
}


class WavespeedProvider:
    name = "wavespeed"

    def __init__(
        self,
        key: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 30.0,
        poll_interval_s: float = 1.0,
    ) -> None:
        self._key = key
        self._own_client = client is None
        self._http = client or httpx.AsyncClient(timeout=timeout_s)
        self._poll_interval_s = poll_interval_s

    def __repr__(self) -> str:  # never show the key
        return "WavespeedProvider(key=[redacted])"

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key}", "Content-Type": "application/json"}

    async def submit(self, request: ProviderRequest) -> SubmitResult:
        url, body = build_payload(request)
        data = await self._call("POST", url, json=body)
        job_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(job_id, str) or not job_id:
            log.warning("wavespeed submit answered without a prediction id")
            raise errors_map.unavailable()
        return SubmitResult(job_id=job_id)

    async def status(self, model: ModelSpec, job_id: str) -> JobState:
        data = await self._call("GET", f"{WAVESPEED_API}/predictions/{job_id}/result")
        if not isinstance(data, dict):
            raise errors_map.unavailable()
        raw = str(data.get("status", "")).lower()
        status = _STATUS.get(raw)
        if status is None:
            log.warning("wavespeed job has an unknown status %r", raw)
            raise errors_map.unavailable()
        if status == "FAILED":
            sentence = errors_map.failure_sentence(
                _str_or_none(data.get("error")), None, [self._key]
            )
            return JobState(status="FAILED", error=sentence)
        if status == "COMPLETED":
            try:
                images = url_list_images(data.get("outputs"))
            except ProviderError as exc:
                return JobState(status="FAILED", error=exc.message)
            return JobState(status="COMPLETED", images=images)
        return JobState(status=status)  # type: ignore[arg-type]

    async def cancel(self, model: ModelSpec, job_id: str) -> bool:
        """Delete a job that has not finished: True if Wavespeed took it, else False."""
        url = f"{WAVESPEED_API}/predictions/{job_id}"
        response = await self._send("GET", f"{url}/result")
        if _not_found(response):
            return False
        data = self._data(response)
        raw = str(data.get("status", "")).lower() if isinstance(data, dict) else ""
        if _STATUS.get(raw) in ("COMPLETED", "FAILED"):
            return False  # finished: deleting it now would only destroy its outputs
        response = await self._send("DELETE", url)
        if _not_found(response):
            return False
        self._data(response)  # raises on an error answer
        log.info("wavespeed: job cancelled (was %s)", raw or "unknown")
        return True

    async def wait(self, model: ModelSpec, job_id: str, timeout_s: float) -> JobState:
        return await poll_until_terminal(
            lambda: self.status(model, job_id), timeout_s, self._poll_interval_s
        )

    async def aclose(self) -> None:
        if self._own_client:
            await self._http.aclose()

    async def _call(self, method: str, url: str, json: dict[str, Any] | None = None) -> Any:
        """One request; returns the envelope's ``data`` or raises a mapped ProviderError."""
        return self._data(await self._send(method, url, json))

    async def _send(
        self, method: str, url: str, json: dict[str, Any] | None = None
    ) -> httpx.Response:
        try:
            return await self._http.request(method, url, json=json, headers=self._headers)
        except httpx.HTTPError as exc:
            log.warning("wavespeed %s failed: %s", method, type(exc).__name__)
            raise errors_map.from_exception(exc) from None

    def _data(self, response: httpx.Response) -> Any:
        """The envelope's ``data``, or the mapped ProviderError of an error answer."""
        if response.status_code >= 400:
            error = errors_map.from_response(response, [self._key])
            log.warning("wavespeed answered %s: %s", response.status_code, error.message)
            raise error
        try:
            envelope = response.json()
        except ValueError:
            raise errors_map.unavailable() from None
        # Wavespeed wraps everything as {code, message, data}; a non-200 code is an error.
        code = envelope.get("code", 200) if isinstance(envelope, dict) else 200
        if isinstance(code, int) and code >= 400:
            raise errors_map.from_http(code, envelope, [self._key])
        return envelope.get("data") if isinstance(envelope, dict) else None


def _not_found(response: httpx.Response) -> bool:
    """HTTP 404, or Wavespeed's envelope saying 404 (the job is unknown or gone)."""
    if response.status_code == 404:
        return True
    try:
        envelope = response.json()
    except ValueError:
        return False
    return isinstance(envelope, dict) and envelope.get("code") == 404


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
