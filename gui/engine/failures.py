"""Why a generation stopped, as the sentence its tile shows, a code and whether retrying may
help. Every path (the seed's flow and the one-call path) ends in one of these."""

from __future__ import annotations

import logging

from gui.engine.api_client import BackendError
from gui.engine.attachments import AttachmentError
from gui.engine.convex_gateway import ConvexError, ConvexUnavailable
from gui.engine.tokens import SignInError

log = logging.getLogger(__name__)
DEFAULT_SLOT_LIMIT = 4


class EngineFailure(Exception):
    """A generation cannot go on; ``message`` is the sentence shown on its tile."""

    def __init__(self, message: str, code: str = "error", retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable


def slot_limit_message(count: int | None) -> str:
    return (
        f"You already have {count or DEFAULT_SLOT_LIMIT} generations running. "
        "Wait for one to finish."
    )


def _number(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def describe_backend_error(exc: BackendError) -> EngineFailure:
    """The server's refusals the tile words like the seed's flow's own: no slot free (429
    ``too_many_generations``, worth retrying later), not enough credits (402, not)."""
    if exc.code == "too_many_generations":
        count = _number(exc.details.get("limit")) or _number(exc.details.get("active"))
        return EngineFailure(slot_limit_message(count), "slot_limit", retryable=True)
    if exc.code == "insufficient_credits" or exc.status == 402:
        return EngineFailure(exc.message, "credits", retryable=False)
    retryable = exc.status in (0, 429, 500, 502, 503, 504)
    return EngineFailure(exc.message, exc.code, retryable)


def describe_failure(exc: BaseException) -> EngineFailure:
    """Any exception as a sentence for the tile, a code and whether retrying may help."""
    if isinstance(exc, EngineFailure):
        return exc
    if isinstance(exc, AttachmentError):
        return EngineFailure(exc.message, "attachment", retryable=False)
    if isinstance(exc, BackendError):
        return describe_backend_error(exc)
    if isinstance(exc, ConvexUnavailable):
        return EngineFailure(str(exc), "convex_unavailable")
    if isinstance(exc, ConvexError):
        return EngineFailure(exc.message, "convex", retryable=False)
    if isinstance(exc, SignInError):
        return EngineFailure(str(exc), "sign_in", retryable=False)
    if isinstance(exc, ExceptionGroup) and exc.exceptions:
        return describe_failure(exc.exceptions[0])
    log.error("unexpected failure in a generation", exc_info=exc)
    return EngineFailure(f"Something went wrong: {exc or type(exc).__name__}.", "internal")
