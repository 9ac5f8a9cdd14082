"""Turn whatever a provider failed with into a sentence a user understands.

Every provider answer (HTTP status + JSON body, transport exception, failed job text) goes
through here, so the wording is the same for Fal, Wavespeed and Azure and nothing secret
leaks: keys are cut out and every URL (signed ones carry credentials in the query) is
replaced before a message reaches a client or a log line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import httpx

from backend.providers.base import ProviderError

CONTENT_POLICY = "The provider refused this prompt under its content policy."
TIMED_OUT = "The provider took too long to answer."
UNAVAILABLE = "The provider is unavailable right now. Please try again."
BUSY = "The provider is busy right now. Please try again in a moment."
BAD_CREDENTIALS = (
    "The provider did not accept the server's credentials. Please tell the server's operator."
)
FAILED = "The provider could not generate this image."

_POLICY_MARKERS = (
    "content_policy",
    "content policy",
    "content_filter",
    "contentfilter",
    "moderation",
    "responsibleaipolicy",
    "safety",
    "nsfw",
    "sensitive",
    "flagged",
)
_URL = re.compile(r"(?:https?|wss?)://[^\s\"'<>)\]]+", re.IGNORECASE)
_AUTH = re.compile(r"\b(Key|Bearer|api-key)[\s:=]+[^\s\"',]+", re.IGNORECASE)
_MAX_LEN = 300


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` without keys, auth headers or URLs, trimmed to one readable line."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    text = _AUTH.sub(r"\1 [redacted]", text)
    text = _URL.sub("[link]", text)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_LEN else text[: _MAX_LEN - 1].rstrip() + "…"


def is_content_policy(*parts: object) -> bool:
    blob = " ".join(str(p) for p in parts if p).lower()
    return any(marker in blob for marker in _POLICY_MARKERS)


def _detail_text(detail: Any) -> str | None:
    """Fal's ``detail``: a string, or pydantic-style ``[{loc, msg, type}, ...]``."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail[:3]:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
                msg = str(item.get("msg", "")).strip()
                parts.append(f"{loc}: {msg}" if loc and msg else msg or loc)
            else:
                parts.append(str(item))
        return "; ".join(p for p in parts if p) or None
    return None


def extract_message(body: Any) -> tuple[str | None, str | None]:
    """``(message, type_or_code)`` from any of the three providers' error bodies."""
    if isinstance(body, str):
        return (body or None), None
    if not isinstance(body, dict):
        return None, None
    kind = body.get("error_type") or body.get("type")
    if "detail" in body:  # Fal
        detail = body["detail"]
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            kind = kind or detail[0].get("type")
        return _detail_text(detail), kind
    error = body.get("error")
    if isinstance(error, dict):  # Azure / OpenAI
        inner = error.get("inner_error") or error.get("innererror") or {}
        code = error.get("code") or (inner.get("code") if isinstance(inner, dict) else None)
        return error.get("message"), code or error.get("type")
    if isinstance(error, str) and error:  # Wavespeed job / generic
        return error, kind
    message = body.get("message") or body.get("msg")
    return (str(message) if message else None), kind


def content_policy() -> ProviderError:
    return ProviderError(CONTENT_POLICY, code="content_policy", status=422)


def rejected(message: str | None, secrets: Iterable[str | None] = ()) -> ProviderError:
    if not message:
        return ProviderError(
            "The provider rejected the request.", code="provider_rejected", status=422
        )
    text = scrub(message, secrets).rstrip(".")
    return ProviderError(
        f"The provider rejected the request: {text}.", code="provider_rejected", status=422
    )


def timed_out() -> ProviderError:
    return ProviderError(TIMED_OUT, code="provider_timeout", status=504)


def unavailable() -> ProviderError:
    return ProviderError(UNAVAILABLE, code="provider_unavailable", status=502)


def from_http(status: int, body: Any, secrets: Iterable[str | None] = ()) -> ProviderError:
    """The error for a provider's non-2xx answer (``body`` parsed JSON or raw text)."""
    message, kind = extract_message(body)
    if is_content_policy(kind, message):
        return content_policy()
    if status in (408, 504):
        return timed_out()
    if status == 429:
        return ProviderError(BUSY, code="provider_busy", status=503)
    if status in (401, 403):
        return ProviderError(BAD_CREDENTIALS, code="provider_auth", status=502)
    if status >= 500:
        return unavailable()
    return rejected(message, secrets)


def from_response(response: httpx.Response, secrets: Iterable[str | None] = ()) -> ProviderError:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return from_http(response.status_code, body, secrets)


def from_exception(exc: BaseException) -> ProviderError:
    """Transport-level failures: timeouts, refused connections, broken answers."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return timed_out()
    return unavailable()


def failure_sentence(
    message: str | None, kind: str | None = None, secrets: Iterable[str | None] = ()
) -> str:
    """The sentence for a job the provider reports as failed (``JobState.error``)."""
    if is_content_policy(kind, message):
        return CONTENT_POLICY
    if kind and "timeout" in kind.lower():
        return TIMED_OUT
    if message:
        return f"{FAILED[:-1]}: {scrub(message, secrets).rstrip('.')}."
    return FAILED
