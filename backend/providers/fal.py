"""Fal through fal-client's async client: sync models subscribe, queued models submit.

Queued models return Fal's ``request_id`` as the job id; the status route later asks
``status(model, request_id)`` and fal-client derives the queue URLs from the model's
endpoint (``queue.fal.run/<owner>/<app>/requests/<id>``). Reve Edit picks edit or remix at
request time, but it is a sync model, so status never needs to know which one was used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any

import fal_client
import httpx

from backend.providers import errors_map
from backend.providers.base import JobState, ProviderError, ProviderRequest, SubmitResult
from backend.providers.outputs import fal_images
from backend.providers.payloads import build_payload
from backend.providers.polling import poll_until_terminal
from catalog import ModelSpec

log = logging.getLogger(__name__)


class FalProvider:
    name = "fal"

    def __init__(
        self,
        key: str,
        *,
        poll_interval_s: float = 1.0,
        sync_timeout_s: float = 300.0,
    ) -> None:
        self._key = key
        self._poll_interval_s = poll_interval_s
        self._sync_timeout_s = sync_timeout_s
        # fal-client caches one httpx client (bound to an event loop) per AsyncClient, so
        # keep one per loop: tests and the embedded server each run their own loop.
        self._clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, fal_client.AsyncClient
        ] = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:  # never show the key
        return "FalProvider(key=[redacted])"

    def _client(self) -> fal_client.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = fal_client.AsyncClient(key=self._key)
            self._clients[loop] = client
        return client

    async def submit(self, request: ProviderRequest) -> SubmitResult:
        endpoint, body = build_payload(request)
        client = self._client()
        try:
            if request.model.call_type == "sync":
                return SubmitResult(images=fal_images(await self._subscribe(endpoint, body)))
            handle = await client.submit(endpoint, body)
            return SubmitResult(job_id=handle.request_id)
        except Exception as exc:
            raise self._mapped(exc, endpoint) from None

    async def _subscribe(self, endpoint: str, body: dict[str, Any]) -> Any:
        """Submit and wait for the answer; on our deadline, cancel the job at Fal."""
        client = self._client()
        request_ids: list[str] = []
        try:
            # Our own deadline (fal-client's client_timeout refuses anything under 1 s and
            # also sets a server-side start timeout we do not want).
            async with asyncio.timeout(self._sync_timeout_s):
                return await client.subscribe(
                    endpoint,
                    body,
                    with_logs=True,
                    interval=min(self._poll_interval_s, 0.5),
                    on_enqueue=request_ids.append,
                )
        except TimeoutError:
            if request_ids:
                with contextlib.suppress(Exception):
                    await client.cancel(endpoint, request_ids[0])
            raise errors_map.timed_out() from None

    async def status(self, model: ModelSpec, job_id: str) -> JobState:
        client = self._client()
        try:
            state = await client.status(model.endpoint, job_id, with_logs=True)
            if isinstance(state, fal_client.Queued):
                return JobState(status="IN_QUEUE", position=state.position)
            if isinstance(state, fal_client.InProgress):
                return JobState(status="IN_PROGRESS", logs=_log_lines(state.logs))
            if not isinstance(state, fal_client.Completed):
                raise ProviderError(errors_map.UNAVAILABLE, code="provider_unavailable")
            logs = _log_lines(state.logs)
            if state.error:
                sentence = errors_map.failure_sentence(state.error, state.error_type, [self._key])
                return JobState(status="FAILED", error=sentence, logs=logs)
            return await self._result(model, job_id, logs)
        except Exception as exc:
            raise self._mapped(exc, model.endpoint) from None

    async def _result(self, model: ModelSpec, job_id: str, logs: tuple[str, ...]) -> JobState:
        # One GET of the response URL; fal-client's result() would poll status again first.
        handle = await self._client().get_handle(model.endpoint, job_id)
        response = await handle.client.get(handle.response_url)
        if 400 <= response.status_code < 500 and response.status_code not in (401, 403, 429):
            # The job itself failed (bad input, content policy): a final answer.
            error = errors_map.from_response(response, [self._key])
            return JobState(status="FAILED", error=error.message, logs=logs)
        if response.status_code >= 400:
            raise errors_map.from_response(response, [self._key])
        try:
            images = fal_images(response.json())
        except ProviderError as exc:
            return JobState(status="FAILED", error=exc.message, logs=logs)
        return JobState(status="COMPLETED", images=images, logs=logs)

    async def wait(self, model: ModelSpec, job_id: str, timeout_s: float) -> JobState:
        return await poll_until_terminal(
            lambda: self.status(model, job_id), timeout_s, self._poll_interval_s
        )

    async def aclose(self) -> None:
        for client in list(self._clients.values()):
            if "_client" in client.__dict__:  # only if fal-client ever opened one
                http: httpx.AsyncClient = await client._client
                await http.aclose()
        self._clients.clear()

    def _mapped(self, exc: BaseException, endpoint: str) -> ProviderError:
        if isinstance(exc, fal_client.FalClientHTTPError):
            error = errors_map.from_response(exc.response, [self._key])
        elif isinstance(exc, fal_client.FalClientTimeoutError):
            error = errors_map.timed_out()
        elif isinstance(exc, ProviderError):
            error = exc
        elif isinstance(exc, (httpx.HTTPError, TimeoutError)):
            error = errors_map.from_exception(exc)
        else:
            # An answer we could not parse (missing request_id, bad JSON, ...).
            error = errors_map.unavailable()
        log.warning(
            "fal %s failed (%s): %s",
            endpoint,
            type(exc).__name__,
            errors_map.scrub(str(exc), [self._key]),
        )
        return error


def _log_lines(logs: list[dict[str, Any]] | None) -> tuple[str, ...]:
    return tuple(
        errors_map.scrub(str(entry.get("message", "")))
        for entry in logs or []
        if isinstance(entry, dict) and entry.get("message")
    )
