"""Fal through its queue: our own submit POST, fal-client for status, result, upload, cancel.

Every model is submitted to ``queue.fal.run/<endpoint>`` exactly once: fal-client's
``submit``/``subscribe`` retry the POST after a timeout or a dropped connection, which can
start (and bill) a job twice, so the POST is ours and is repeated only when the request
certainly never left (connect failures). An unknown outcome is a clear 504/502 instead.
Sync models then poll the job until it ends (within ``sync_timeout_s``, the provider's
share of the server's ``sync_deadline_s``; past it the job is cancelled at Fal); queued
models return Fal's ``request_id`` and the status route asks about it later (fal-client
derives ``queue.fal.run/<owner>/<app>/requests/<id>``). Reference images Fal cannot fetch
go to Fal's storage first (``fal_references.py``). ``cancel`` uses the queue's
``PUT …/requests/<id>/cancel``: 202 CANCELLATION_REQUESTED, 400 ALREADY_COMPLETED.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from dataclasses import dataclass, replace
from typing import Any

import fal_client
import fal_client.client as fal_http
import httpx

from backend.config import BackendConfig, provider_sync_timeout
from backend.providers import errors_map
from backend.providers.base import JobState, ProviderError, ProviderRequest, SubmitResult
from backend.providers.fal_references import ReferenceUploader
from backend.providers.outputs import fal_images
from backend.providers.payloads import build_payload
from backend.providers.polling import poll_until_terminal
from backend.store.base import ObjectStore
from catalog import ModelSpec

log = logging.getLogger(__name__)

# Fal's documented header: a job not started within this many seconds is dropped by Fal.
START_TIMEOUT_HEADER = "X-Fal-Request-Timeout"
SUBMIT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
CANCEL_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# Connect failures only: the POST never reached Fal, so sending it again is safe.
SUBMIT_CONNECT_ATTEMPTS = 3
SUBMIT_UNKNOWN = (
    "The provider did not confirm the request, so it was not sent again "
    "(that could start a second, billed job). Please try again."
)
# 180 s of the default 240 s sync deadline (the desktop client waits 300 s).
_DEFAULT_SYNC_TIMEOUT_S = provider_sync_timeout(BackendConfig.sync_deadline_s)


@dataclass
class _LoopClients:
    """What one event loop uses (fal-client binds its httpx client to the loop)."""

    fal: fal_client.AsyncClient
    # Reads our own attachment URLs; never carries the Fal key.
    plain: httpx.AsyncClient | None = None


class FalProvider:
    name = "fal"

    def __init__(
        self,
        key: str,
        *,
        poll_interval_s: float = 1.0,
        sync_timeout_s: float = _DEFAULT_SYNC_TIMEOUT_S,
        upload_references: bool | None = None,
        store: ObjectStore | None = None,
    ) -> None:
        self._key = key
        self._poll_interval_s = poll_interval_s
        self._sync_timeout_s = sync_timeout_s
        self.references = ReferenceUploader(upload_references, store=store)
        log.info(
            "fal: reference images %s",
            {
                True: "are uploaded to Fal storage",
                False: "are sent as our (public) store URLs",
                None: "are uploaded to Fal storage when Fal cannot reach them",
            }[upload_references],
        )
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClients] = (
            weakref.WeakKeyDictionary()
        )
        self._background: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_config(cls, config: BackendConfig, store: ObjectStore | None = None) -> FalProvider:
        """References go to Fal storage unless the store is public; sync calls fit the deadline."""
        return cls(
            config.fal_key or "",
            sync_timeout_s=config.provider_sync_timeout_s,
            upload_references=not config.public_store,
            store=store,
        )

    def __repr__(self) -> str:  # never show the key
        return "FalProvider(key=[redacted])"

    # -- clients ----------------------------------------------------------------------
    def _clients(self) -> _LoopClients:
        loop = asyncio.get_running_loop()
        clients = self._loops.get(loop)
        if clients is None:
            clients = _LoopClients(fal=fal_client.AsyncClient(key=self._key))
            self._loops[loop] = clients
        return clients

    def _client(self) -> fal_client.AsyncClient:
        return self._clients().fal

    def _plain(self) -> httpx.AsyncClient:
        clients = self._clients()
        if clients.plain is None:
            clients.plain = httpx.AsyncClient(follow_redirects=False)
        return clients.plain

    async def _fal_http(self) -> httpx.AsyncClient:
        """fal-client's authenticated httpx client (its key header, its backup transport)."""
        http: httpx.AsyncClient = await self._client()._client
        return http

    # -- Provider ---------------------------------------------------------------------
    async def submit(self, request: ProviderRequest) -> SubmitResult:
        endpoint = request.model.endpoint
        try:
            if request.attachment_urls:
                urls = await self.references.resolve(
                    self._client(), self._plain(), request.attachment_urls
                )
                request = replace(request, attachment_urls=urls)
            endpoint, body = build_payload(request)
            if request.model.call_type == "sync":
                return SubmitResult(images=fal_images(await self._run_sync(endpoint, body)))
            return SubmitResult(job_id=await self._enqueue(endpoint, body))
        except Exception as exc:
            raise self._mapped(exc, endpoint) from None

    async def _enqueue(
        self, endpoint: str, body: dict[str, Any], *, start_timeout_s: float | None = None
    ) -> str:
        """POST the job to the queue once; its ``request_id``."""
        http = await self._fal_http()
        url = fal_http.QUEUE_URL_FORMAT + endpoint
        headers = {START_TIMEOUT_HEADER: f"{start_timeout_s:g}"} if start_timeout_s else {}
        response: httpx.Response | None = None
        for attempt in range(1, SUBMIT_CONNECT_ATTEMPTS + 1):
            try:
                response = await http.post(url, json=body, headers=headers, timeout=SUBMIT_TIMEOUT)
                break
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
                if attempt == SUBMIT_CONNECT_ATTEMPTS:
                    raise
                await asyncio.sleep(0.2 * attempt)
            except httpx.HTTPError as exc:
                # Sent, answer lost: Fal may have queued it. Never send it a second time.
                log.warning("fal %s: submit outcome unknown (%s)", endpoint, type(exc).__name__)
                timed_out = isinstance(exc, httpx.TimeoutException)
                raise ProviderError(
                    SUBMIT_UNKNOWN,
                    code="provider_submit_unknown",
                    status=504 if timed_out else 502,
                ) from None
        assert response is not None
        if response.status_code >= 400:
            raise errors_map.from_response(response, [self._key])
        try:
            request_id = response.json()["request_id"]
        except (ValueError, KeyError, TypeError):
            request_id = None
        if not isinstance(request_id, str) or not request_id:
            log.warning("fal %s: the queue answered without a request id", endpoint)
            raise errors_map.unavailable()
        return request_id

    async def _run_sync(self, endpoint: str, body: dict[str, Any]) -> Any:
        """Submit once, wait for the result; on our deadline (or shutdown) cancel at Fal."""
        job: list[str] = []
        try:
            async with asyncio.timeout(self._sync_timeout_s):
                job.append(
                    await self._enqueue(endpoint, body, start_timeout_s=self._sync_timeout_s)
                )
                return await self._sync_result(endpoint, job[0])
        except TimeoutError:
            if job:
                with contextlib.suppress(Exception):
                    await self._cancel(endpoint, job[0])
            raise errors_map.timed_out() from None
        except asyncio.CancelledError:
            if job:  # nobody will collect it: stop it (and its bill) at Fal
                task = asyncio.get_running_loop().create_task(self._quiet_cancel(endpoint, job[0]))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
            raise

    async def _sync_result(self, endpoint: str, request_id: str) -> Any:
        client = self._client()
        interval = min(self._poll_interval_s, 0.5)
        while True:
            state = await client.status(endpoint, request_id)
            if isinstance(state, fal_client.Completed):
                if state.error:
                    sentence = errors_map.failure_sentence(
                        state.error, state.error_type, [self._key]
                    )
                    raise ProviderError(sentence, code="provider_failed")
                break
            await asyncio.sleep(interval)
        handle = await client.get_handle(endpoint, request_id)
        response = await handle.client.get(handle.response_url)
        if response.status_code >= 400:
            raise errors_map.from_response(response, [self._key])
        return response.json()

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

    async def cancel(self, model: ModelSpec, job_id: str) -> bool:
        """Ask Fal to stop the job: True if accepted, False if it had already finished."""
        try:
            return await self._cancel(model.endpoint, job_id)
        except Exception as exc:
            raise self._mapped(exc, model.endpoint) from None

    async def _cancel(self, endpoint: str, job_id: str) -> bool:
        handle = await self._client().get_handle(endpoint, job_id)
        response: httpx.Response | None = None
        for attempt in (1, 2):  # a cancel is idempotent: one retry after a transport error
            try:
                response = await handle.client.put(handle.cancel_url, timeout=CANCEL_TIMEOUT)
                break
            except httpx.TransportError:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.2)
        assert response is not None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        said = answer.get("status") if isinstance(answer, dict) else None
        if response.status_code in (400, 404) or said in ("ALREADY_COMPLETED", "NOT_FOUND"):
            log.info("fal %s: nothing to cancel (%s)", endpoint, said or response.status_code)
            return False
        if response.status_code >= 300:
            raise errors_map.from_response(response, [self._key])
        log.info("fal %s: cancel accepted (%s)", endpoint, said or response.status_code)
        return True

    async def _quiet_cancel(self, endpoint: str, job_id: str) -> None:
        try:
            await self._cancel(endpoint, job_id)
        except Exception as exc:
            log.warning("fal %s: cancelling an abandoned job failed (%s)", endpoint, type(exc))

    async def aclose(self) -> None:
        for task in list(self._background):
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 5.0)
        for clients in list(self._loops.values()):
            if "_client" in clients.fal.__dict__:  # only if fal-client ever opened one
                http: httpx.AsyncClient = await clients.fal._client
                await http.aclose()
            if clients.plain is not None:
                await clients.plain.aclose()
        self._loops.clear()

    def _mapped(self, exc: BaseException, endpoint: str) -> ProviderError:
        if isinstance(exc, ProviderError):
            error = exc
        elif isinstance(exc, fal_client.FalClientHTTPError):
            error = errors_map.from_response(exc.response, [self._key])
        elif isinstance(exc, fal_client.FalClientTimeoutError):
            error = errors_map.timed_out()
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
