"""The engine's gateway to Convex: one typed async method per function of design.md §4.

It speaks Convex's HTTP function API (``POST {convex_url}/api/query|mutation``), so it
works the same against the embedded host (``{backend}/convex``) and a real deployment.
The Bearer token comes from a :class:`TokenProvider`; a 401 refreshes it once and retries.
Function errors become :class:`ConvexError` with a sentence fit for the UI; a network
failure or a 5xx becomes :class:`ConvexUnavailable` (the caller may retry later).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import httpx
from convex.values import ConvexInt64, convex_to_json, json_to_convex

from gui.engine.connectivity import server_answered
from gui.engine.convex_types import (
    CreditResult,
    CreditsBreakdown,
    SessionGeneration,
    SessionSummary,
    SlotResult,
    UserCredits,
    to_convex_time,
)
from gui.engine.tokens import SignInUnreachable, TokenProvider

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class ConvexError(Exception):
    """A Convex function refused or failed; ``str(exc)`` is a readable sentence."""

    def __init__(self, message: str, data: Any = None, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data
        self.path = path


class ConvexAuthError(ConvexError):
    """The token was refused even after a refresh: the user must sign in again."""


class ConvexUnavailable(Exception):
    """Convex could not be reached (network error, timeout, 5xx)."""


_REQUEST_ID = re.compile(r"^\[Request ID: [^\]]*\]\s*")
_PREFIXES = ("Server Error", "Uncaught ConvexError:", "Uncaught Error:", "Uncaught ")


def readable_error(message: str, data: Any = None) -> str:
    """The sentence worth showing: errorData's message if any, else errorMessage without
    Convex's request id, "Server Error"/"Uncaught" prefixes and stack lines."""
    if isinstance(data, str) and data.strip():
        return data.strip()
    if isinstance(data, Mapping) and isinstance(data.get("message"), str):
        return str(data["message"])
    text = _REQUEST_ID.sub("", message or "").strip()
    lines = [
        line
        for line in text.splitlines()
        if line.strip()
        and not line.lstrip().startswith("at ")
        and line.strip() != "Called by client"
    ]
    text = "\n".join(lines).strip()
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if text.startswith(prefix):
                text = text[len(prefix) :].strip()
                changed = True
    return _argument_error(text) or text or "The Convex function failed."


_ARG_ERROR = re.compile(
    r"^ArgumentValidationError:.*?\nPath: \.?(?P<path>[^\n]*)\nValue: (?P<value>[^\n]*)"
    r"(?:\nValidator: v\.id\(\"(?P<table>[^\"]+)\"\))?",
    re.DOTALL,
)


def _argument_error(text: str) -> str | None:
    """Convex's multi-line validator report as one sentence (it names the argument)."""
    match = _ARG_ERROR.match(text)
    if match is None:
        return None
    what = f"a valid {match['table']} id" if match["table"] else "an accepted value"
    return (
        f"The request was refused: {match['path'] or 'an argument'} {match['value']} is not "
        f"{what} (ArgumentValidationError)."
    )


def decode(value: Any) -> Any:
    """Convex JSON -> Python; tolerant of plain integers (``format: "json"`` answers)."""
    if isinstance(value, list):
        return [decode(x) for x in value]
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)).startswith("$"):
            converted = json_to_convex(value)
            return converted.value if isinstance(converted, ConvexInt64) else converted
        return {k: decode(v) for k, v in value.items()}
    return value


def _images(images: Sequence[str | Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"url": img} if isinstance(img, str) else dict(img) for img in images]


def _drop_none(args: Mapping[str, Any]) -> dict[str, Any]:
    # Convex optional fields are absent, never null.
    return {k: v for k, v in args.items() if v is not None}


class ConvexGateway:
    def __init__(
        self,
        convex_url: str,
        token_provider: TokenProvider,
        client: httpx.AsyncClient | None = None,
        on_reach: Callable[[bool, str], None] | None = None,
    ) -> None:
        self.convex_url = convex_url.rstrip("/")
        self._tokens = token_provider
        # Told after every call whether Convex answered (gui.engine.connectivity).
        self._on_reach = on_reach or (lambda _ok, _msg: None)
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def __aenter__(self) -> ConvexGateway:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- transport ---------------------------------------------------------------------

    async def query(self, path: str, args: Mapping[str, Any] | None = None) -> Any:
        return await self._call("query", path, args or {})

    async def mutation(self, path: str, args: Mapping[str, Any] | None = None) -> Any:
        return await self._call("mutation", path, args or {})

    async def _call(
        self, kind: Literal["query", "mutation", "action"], path: str, args: Mapping[str, Any]
    ) -> Any:
        body = {"path": path, "args": convex_to_json(dict(args)), "format": "json"}
        url = f"{self.convex_url}/api/{kind}"
        response: httpx.Response | None = None
        for attempt in range(2):
            try:
                token = await self._tokens.token(force_refresh=attempt > 0)
            except SignInUnreachable as exc:
                self._on_reach(False, str(exc))
                raise ConvexUnavailable(str(exc)) from exc
            headers = {"Authorization": f"Bearer {token}", "Convex-Client": "imagegen-desktop"}
            try:
                response = await self._client.post(url, json=body, headers=headers)
            except httpx.TransportError as exc:
                error = ConvexUnavailable(
                    f"Could not reach Convex at {self.convex_url}: {exc.__class__.__name__}."
                )
                self._on_reach(False, str(error))
                raise error from exc
            self._on_reach(server_answered(response), f"HTTP {response.status_code}")
            if response.status_code != 401:
                break
        assert response is not None
        return self._result(response, path)

    def _result(self, response: httpx.Response, path: str) -> Any:
        status = response.status_code
        if status >= 500:
            raise ConvexUnavailable(f"Convex is unavailable right now (HTTP {status}).")
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if status >= 400:
            info = payload if isinstance(payload, dict) else {}
            message = info.get("message") or info.get("error") or f"HTTP {status}"
            error_type = ConvexAuthError if status == 401 else ConvexError
            raise error_type(str(message), info, path)
        if not isinstance(payload, dict) or payload.get("status") not in ("success", "error"):
            raise ConvexUnavailable("Convex sent an answer this app does not understand.")
        if payload["status"] == "error":
            data = decode(payload.get("errorData"))
            raise ConvexError(
                readable_error(str(payload.get("errorMessage", "")), data), data, path
            )
        return decode(payload.get("value"))

    # -- generations: concurrency slots --------------------------------------------------

    async def acquire_generation_slot(self, prompt: str, type: str = "image") -> SlotResult:
        value = await self.mutation(
            "generations:acquireGenerationSlot", {"type": type, "prompt": prompt}
        )
        return SlotResult.from_value(value)

    async def update_generation_status(
        self,
        generation_id: str,
        status: Literal["completed", "failed"],
        image_url: str | None = None,
    ) -> None:
        await self.mutation(
            "generations:updateGenerationStatus",
            _drop_none({"generationId": generation_id, "status": status, "imageUrl": image_url}),
        )

    # -- users: credits --------------------------------------------------------------------

    async def reserve_credits(self, amount: float) -> CreditResult:
        return CreditResult.from_value(
            await self.mutation("users:reserveCredits", {"amount": amount})
        )

    async def capture_reserved_credits(self, amount: float) -> CreditResult:
        return CreditResult.from_value(
            await self.mutation("users:captureReservedCredits", {"amount": amount})
        )

    async def release_reserved_credits(self, amount: float) -> CreditResult:
        return CreditResult.from_value(
            await self.mutation("users:releaseReservedCredits", {"amount": amount})
        )

    async def get_user_credits(self) -> UserCredits:
        return UserCredits.from_value(await self.query("users:getUserCredits"))

    async def get_user_credits_breakdown(self) -> CreditsBreakdown:
        return CreditsBreakdown.from_value(await self.query("users:getUserCreditsBreakdown"))

    # -- sessions ---------------------------------------------------------------------------

    async def create_session(self, title: str, type: str = "image") -> str:
        return _id(await self.mutation("sessions:createSession", {"title": title, "type": type}))

    async def add_generation_to_session(
        self,
        session_id: str,
        *,
        prompt: str,
        model: str,
        model_label: str | None = None,
        aspect_ratio: str | None = None,
        num_images: int | None = None,
        is_loading: bool = True,
        concurrency_slot_id: str | None = None,
        quality: str | None = None,
        external_request_id: str | None = None,
        type: str = "image",
    ) -> str:
        # Never `providerEndpoint`: outputs must be polled and rehosted by our backend.
        args = _drop_none(
            {
                "sessionId": session_id,
                "prompt": prompt,
                "type": type,
                "model": model,
                "modelLabel": model_label,
                "aspectRatio": aspect_ratio,
                "numImages": num_images,
                "isLoading": is_loading,
                "concurrencySlotId": concurrency_slot_id,
                "quality": quality,
                "externalRequestId": external_request_id,
            }
        )
        return _id(await self.mutation("sessions:addGenerationToSession", args))

    async def update_generation(
        self,
        generation_id: str,
        *,
        is_loading: bool | None = None,
        images: Sequence[str | Mapping[str, Any]] | None = None,
        completed_at: float | None = None,
        error: str | None = None,
        external_request_id: str | None = None,
    ) -> None:
        """``completed_at`` in seconds (``time.time()``); Convex stores milliseconds."""
        args = _drop_none(
            {
                "generationId": generation_id,
                "isLoading": is_loading,
                "images": _images(images) if images is not None else None,
                "completedAt": to_convex_time(completed_at) if completed_at is not None else None,
                "error": error,
                "externalRequestId": external_request_id,
            }
        )
        await self.mutation("sessions:updateGeneration", args)

    async def toggle_favorite(self, generation_id: str, image_url: str | None = None) -> bool:
        value = await self.mutation(
            "sessions:toggleFavorite",
            _drop_none({"generationId": generation_id, "imageUrl": image_url}),
        )
        return bool(value)

    async def delete_asset_media(self, generation_id: str, image_url: str | None = None) -> None:
        await self.mutation(
            "sessions:deleteAssetMedia",
            _drop_none({"generationId": generation_id, "imageUrl": image_url}),
        )

    async def get_user_sessions(self) -> list[SessionSummary]:
        value = await self.query("sessions:getUserSessions")
        return [SessionSummary.model_validate(doc) for doc in value or []]

    async def get_session_generations(self, session_id: str) -> list[SessionGeneration]:
        value = await self.query("sessions:getSessionGenerations", {"sessionId": session_id})
        return [SessionGeneration.model_validate(doc) for doc in value or []]


def _id(value: Any) -> str:
    """Mutations that create a document answer its id (or, in some versions, the doc)."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping):
        for key in ("_id", "id", "sessionId", "generationId"):
            if isinstance(value.get(key), str):
                return str(value[key])
    raise ConvexError(f"Convex answered {value!r} where a document id was expected.", value)
