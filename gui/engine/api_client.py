"""The backend's HTTP routes (design.md §3, docs/billing.md) as typed async calls.

Errors come back as ``BackendError(status, code, message, details)`` carrying the server's
sentence (and its machine details, e.g. ``limit`` on a 429); a transport failure is a
``NetworkError`` (status 0) so callers can tell "try again" from "the server said no". A 401
refreshes the token once and retries. ``features()`` reads ``GET /healthz``'s ``features``
(what the deployment supports); ``cancel()`` is the billing cancel route.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from gui.engine.connectivity import server_answered
from gui.engine.tokens import SignInUnreachable, TokenProvider

UPLOAD_CHUNK = 64 * 1024
GENERATE_TIMEOUT_S = 300.0
FEATURES_TIMEOUT_S = 5.0
CANCEL_PATH = "/api/generate-images/cancel"
PREVIEW_PATH = "/api/mobile/generate-images/preview"
# Answers that say "not now" rather than "no": rate limits, server errors and the gateway
# family (502/503/504 are what a proxy or load balancer answers while the backend restarts).
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Our backend's codes in that family that a retry cannot change (the job itself failed, the
# provider refuses our key, the server is not set up for it), and the client's own verdicts.
# Anything else, a bare gateway 502 above all, is worth asking again.
PERMANENT_CODES = frozenset(
    {
        "provider_auth",
        "provider_failed",
        "provider_error",
        "provider_bad_output",
        "provider_no_images",
        "provider_not_configured",
        "auth_not_configured",
        "rehost_failed",
        "generation_failed",
        "no_images",
    }
)


class BackendError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        # The answer's other fields (``limit``/``active`` on a 429, ``needed``/``available``
        # on a 402).
        self.details = details or {}

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE_STATUSES and self.code not in PERMANENT_CODES


class NetworkError(BackendError):
    def __init__(self, message: str) -> None:
        super().__init__(0, "network", message)

    @property
    def retryable(self) -> bool:
        return True


@dataclass(frozen=True)
class Billing:
    """The ``billing`` part of a generate answer (docs/billing.md): the hold the server took
    for the request, and the session / loading row it added on the one-call path."""

    idempotency_key: str
    slot_id: str | None = None
    amount: float = 0.0
    session_id: str | None = None
    generation_id: str | None = None
    settled: bool = False


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_billing(value: Any) -> Billing | None:
    if not isinstance(value, dict) or not _text(value.get("idempotencyKey")):
        return None
    amount = value.get("amount")
    return Billing(
        idempotency_key=str(value["idempotencyKey"]),
        slot_id=_text(value.get("slotId")),
        amount=float(amount) if isinstance(amount, int | float) else 0.0,
        session_id=_text(value.get("sessionId")),
        generation_id=_text(value.get("generationId")),
        settled=value.get("settled") is True,
    )


@dataclass(frozen=True)
class GenerateResult:
    images: tuple[str, ...] = ()
    request_id: str | None = None
    billing: Billing | None = None

    @property
    def queued(self) -> bool:
        return self.request_id is not None


StatusState = Literal["queued", "running", "completed", "failed"]


@dataclass(frozen=True)
class JobStatus:
    state: StatusState
    position: int | None = None
    images: tuple[str, ...] = ()
    error: str | None = None
    # Whether the server honoured ``wait`` (long poll); None when it did not say.
    long_poll: bool | None = None

    @property
    def terminal(self) -> bool:
        return self.state in ("completed", "failed")


@dataclass(frozen=True)
class Presigned:
    upload_url: str
    public_url: str
    key: str
    expires_in: int
    headers: dict[str, str] = field(default_factory=dict)


def _retry_after(resp: httpx.Response) -> float | None:
    try:
        return float(resp.headers["retry-after"])
    except (KeyError, ValueError):
        return None


def error_from_response(resp: httpx.Response) -> BackendError:
    """The server's {error, code} as a BackendError (a readable fallback for anything else)."""
    message, code = "", ""
    details: dict[str, Any] = {}
    try:
        data = resp.json()
        if isinstance(data, dict):
            message = str(data.get("error") or data.get("message") or "")
            code = str(data.get("code") or "")
            details = {k: v for k, v in data.items() if k not in ("error", "code", "message")}
    except ValueError:
        pass
    if not message:
        message = f"The server answered HTTP {resp.status_code} ({resp.reason_phrase})."
    return BackendError(
        resp.status_code, code or f"http_{resp.status_code}", message, _retry_after(resp), details
    )


def _images(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    urls = [item.get("url") if isinstance(item, dict) else item for item in value]
    return tuple(u for u in urls if isinstance(u, str) and u)


def parse_status(data: Any, *, long_poll: bool | None = None) -> JobStatus:
    if not isinstance(data, dict):
        raise BackendError(502, "bad_response", "The server sent an unreadable status.")
    if data.get("success") is True:
        return JobStatus("completed", images=_images(data.get("images")), long_poll=long_poll)
    if data.get("success") is False:
        error = str(data.get("error") or "The generation failed.")
        return JobStatus("failed", error=error, long_poll=long_poll)
    position = data.get("position") if isinstance(data.get("position"), int) else None
    state: StatusState = "running" if data.get("status") == "IN_PROGRESS" else "queued"
    return JobStatus(state, position=position, long_poll=long_poll)


class ApiClient:
    def __init__(
        self,
        base_url: str,
        token_provider: TokenProvider,
        client: httpx.AsyncClient | None = None,
        timeout: float = 60.0,
        on_reach: Callable[[bool, str], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._tokens = token_provider
        # Told after every call whether the server answered (gui.engine.connectivity).
        self._on_reach = on_reach or (lambda _ok, _msg: None)
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def _request(
        self, method: str, path: str, *, timeout_s: float | None = None, **kwargs: Any
    ) -> Any:
        url = self.base_url + path
        for attempt in range(2):
            try:
                token = await self._tokens.token(force_refresh=attempt > 0)
            except SignInUnreachable as exc:
                self._on_reach(False, str(exc))
                raise NetworkError(str(exc)) from exc
            headers = {"Authorization": f"Bearer {token}"}
            try:
                resp = await self._client.request(
                    method,
                    url,
                    headers=headers,
                    timeout=timeout_s if timeout_s is not None else httpx.USE_CLIENT_DEFAULT,
                    **kwargs,
                )
            except httpx.HTTPError as exc:
                error = NetworkError(
                    f"The server could not be reached ({exc or type(exc).__name__})."
                )
                self._on_reach(False, error.message)
                raise error from exc
            self._on_reach(server_answered(resp), f"HTTP {resp.status_code}")
            if resp.status_code == 401 and attempt == 0:
                continue  # the token may have just expired: refresh once
            if resp.status_code >= 400:
                raise error_from_response(resp)
            try:
                return resp.json()
            except ValueError as exc:
                raise BackendError(
                    502, "bad_response", "The server sent a response that is not JSON."
                ) from exc
        raise AssertionError("unreachable")

    async def generate(self, body: dict[str, Any]) -> GenerateResult:
        data = await self._request(
            "POST", "/api/mobile/generate-images", json=body, timeout_s=GENERATE_TIMEOUT_S
        )
        billing = parse_billing(data.get("billing")) if isinstance(data, dict) else None
        if isinstance(data, dict) and data.get("queued") and data.get("requestId"):
            return GenerateResult(request_id=str(data["requestId"]), billing=billing)
        if isinstance(data, dict) and data.get("success"):
            images = _images(data.get("images"))
            if images:
                return GenerateResult(images=images, billing=billing)
        if isinstance(data, dict) and data.get("success") is False:
            raise BackendError(
                502, "generation_failed", str(data.get("error") or "The generation failed.")
            )
        raise BackendError(502, "bad_response", "The server's answer had no images and no job.")

    async def preview(self, body: dict[str, Any]) -> dict[str, Any]:
        """The provider request ``generate(body)`` would make (a dry run: nothing is held,
        charged or sent to a provider); a refusal is generate's, as a ``BackendError``."""
        data = await self._request("POST", PREVIEW_PATH, json=body)
        if not isinstance(data, dict):
            raise BackendError(502, "bad_response", "The request preview is unreadable.")
        return data

    async def cancel(
        self,
        idempotency_key: str | None = None,
        request_id: str | None = None,
        model_id: str | None = None,
    ) -> dict[str, Any] | None:
        """``POST /api/generate-images/cancel``: stop the job and settle its hold as cancelled
        (docs/billing.md). None when the server answers 404: an older server without the
        route, or a key it never received (nothing to cancel either way)."""
        body: dict[str, Any] = {}
        if idempotency_key:
            body["idempotencyKey"] = idempotency_key
        if request_id:
            body["requestId"] = request_id
        if model_id:
            body["modelId"] = model_id
        try:
            data = await self._request("POST", CANCEL_PATH, json=body, timeout_s=30.0)
        except BackendError as exc:
            if exc.status == 404:
                return None
            raise
        return data if isinstance(data, dict) else {}

    async def features(self, timeout_s: float = FEATURES_TIMEOUT_S) -> frozenset[str]:
        """What the deployment says it supports: ``GET /healthz``'s ``features`` (empty for
        a server without the field or without the route). No token: health is public.
        Raises NetworkError / BackendError when no verdict came (try again later)."""
        try:
            resp = await self._client.get(self.base_url + "/healthz", timeout=timeout_s)
        except httpx.HTTPError as exc:
            error = NetworkError(f"The server could not be reached ({exc or type(exc).__name__}).")
            self._on_reach(False, error.message)
            raise error from exc
        self._on_reach(server_answered(resp), f"HTTP {resp.status_code}")
        if resp.status_code in (404, 405):
            return frozenset()
        if resp.status_code >= 400:
            raise error_from_response(resp)
        try:
            data = resp.json()
        except ValueError:
            return frozenset()
        features = data.get("features") if isinstance(data, dict) else None
        if not isinstance(features, list):
            return frozenset()
        return frozenset(f for f in features if isinstance(f, str))

    async def status(self, request_id: str, model_id: str, wait: float | None = None) -> JobStatus:
        params: dict[str, Any] = {"requestId": request_id, "modelId": model_id}
        if wait is not None:
            params["wait"] = f"{wait:g}"
        data = await self._request(
            "GET",
            "/api/generate-images/status",
            params=params,
            timeout_s=(wait or 0) + 30.0,
        )
        long_poll = None
        if wait is not None and isinstance(data, dict) and "waited" in data:
            long_poll = bool(data.get("waited", True))
        return parse_status(data, long_poll=long_poll)

    async def presign(self, content_type: str, size: int) -> Presigned:
        data = await self._request(
            "POST", "/api/mobile/r2-presign", json={"contentType": content_type, "size": size}
        )
        try:
            return Presigned(
                upload_url=str(data["uploadUrl"]),
                public_url=str(data["publicUrl"]),
                key=str(data.get("key", "")),
                expires_in=int(data.get("expiresIn", 0)),
                headers=dict(data.get("headers") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BackendError(502, "bad_response", "The upload could not be prepared.") from exc

    async def upload(
        self,
        presigned: Presigned,
        data: bytes,
        content_type: str,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """PUT the bytes to the presigned URL, reporting (sent, total) as chunks go out.

        No Authorization header: a presigned URL carries its own signature (S3/R2 reject a
        second auth mechanism).
        """
        total = len(data)

        async def body() -> AsyncIterator[bytes]:
            sent = 0
            for start in range(0, total, UPLOAD_CHUNK):
                chunk = data[start : start + UPLOAD_CHUNK]
                yield chunk
                sent += len(chunk)
                if on_progress is not None:
                    on_progress(sent, total)

        headers = {"Content-Type": content_type, "Content-Length": str(total), **presigned.headers}
        try:
            resp = await self._client.put(presigned.upload_url, content=body(), headers=headers)
        except httpx.HTTPError as exc:
            raise NetworkError(
                f"The upload could not be sent ({exc or type(exc).__name__})."
            ) from exc
        if resp.status_code >= 400:
            raise error_from_response(resp)

    async def models(self) -> dict[str, Any]:
        data = await self._request("GET", "/api/mobile/models")
        if not isinstance(data, dict):
            raise BackendError(502, "bad_response", "The model list is unreadable.")
        return data
