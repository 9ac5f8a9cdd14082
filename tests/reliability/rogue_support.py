"""A hostile client of the real server, for the billing contract of docs/billing.md.

Everything goes over HTTP, as a client that skips, repeats or forges Convex calls would
send it: the generate routes, the status and cancel routes, and Convex functions through
``/convex/api/query|mutation``. Money is read back through ``users:getUserCreditsBreakdown``
and provider jobs and holds straight from the backend's tables (read-only, on SQLite or
PostgreSQL alike).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from backend.app import CONVEX_DB_NAME
from backend.convex_host.tables import holds, users
from backend.server import EmbeddedBackend
from backend.storage.sql import seq_of
from backend.turnstile import DUMMY_TOKEN
from bench.reliability.db_read import read_rows
from catalog.pricing import cost
from tests.conftest import BackendFactory, dev_token
from tests.integration.routes_support import convex_value, credits_breakdown
from tests.reliability.conftest import local_jobs

MOBILE_GENERATE = "/api/mobile/generate-images"
WEB_GENERATE = "/api/generate-images"
STATUS = "/api/generate-images/status"
CANCEL = "/api/generate-images/cancel"

SYNC_MODEL = "img-imagen4-preview"  # renders during the request (3 credits an image)
QUEUED_MODEL = "img-flux-2-max"  # a job polled through the status route (7 an image)
SYNC_COST = cost(SYNC_MODEL, 1)
QUEUED_COST = cost(QUEUED_MODEL, 1)
MODELS = pytest.mark.parametrize("model", [SYNC_MODEL, QUEUED_MODEL], ids=["sync", "queued"])

# No rate limit in the way of the floods; tokens that outlive the slowest test.
BASE: dict[str, Any] = {"rate_limit_generate": 10_000, "dev_token_ttl_s": 900}
# A queued job still queued when the test looks at it.
SLOW_QUEUE: dict[str, Any] = {"local_queue_s": 3.0, "local_run_s": 0.3}

# Deadlines of helper loops: generous, they only bound a hang (not timing assertions).
SETTLE_DEADLINE_S = 30.0


def new_key() -> str:
    return f"rogue-{uuid.uuid4().hex}"


def body(model: str = SYNC_MODEL, prompt: str = "a red fox", **extra: Any) -> dict[str, Any]:
    return {"prompt": prompt, "model": model, "numImages": 1, **extra}


Start = Callable[..., EmbeddedBackend]


def starter(backend_factory: BackendFactory) -> Start:
    """Starts a backend with ``BASE`` and the given overrides (the tests' ``start``)."""

    def go(**overrides: Any) -> EmbeddedBackend:
        return backend_factory(**{**BASE, **overrides})

    return go


@dataclass
class Rogue:
    """One signed-in user of ``backend``."""

    backend: EmbeddedBackend
    user_id: str
    http: httpx.Client

    # -- generate / status / cancel -----------------------------------------------------
    def generate(self, payload: dict[str, Any], path: str = MOBILE_GENERATE) -> httpx.Response:
        if path == WEB_GENERATE:
            payload = {**payload, "turnstileToken": DUMMY_TOKEN}
        return self.http.post(path, json=payload)

    def status(self, request_id: str, model: str, wait: float | None = None) -> httpx.Response:
        params: dict[str, Any] = {"requestId": request_id, "modelId": model}
        if wait is not None:
            params["wait"] = wait
        return self.http.get(STATUS, params=params)

    def poll_until_done(self, request_id: str, model: str) -> dict[str, Any]:
        """Long-poll the status route until the job is no longer queued."""
        deadline = time.monotonic() + SETTLE_DEADLINE_S
        while time.monotonic() < deadline:
            resp = self.status(request_id, model, wait=5)
            assert resp.status_code == 200, resp.text
            answer: dict[str, Any] = resp.json()
            if not answer.get("queued"):
                return answer
        raise AssertionError(f"job {request_id} still queued after {SETTLE_DEADLINE_S} s")

    def cancel(self, **payload: Any) -> httpx.Response:
        return self.http.post(CANCEL, json=payload)

    # -- Convex ---------------------------------------------------------------------------
    def mutation(self, path: str, args: dict[str, Any] | None = None) -> Any:
        return convex_value(self.http, "mutation", path, args)

    def query(self, path: str, args: dict[str, Any] | None = None) -> Any:
        return convex_value(self.http, "query", path, args)

    def breakdown(self) -> dict[str, float]:
        """{total, reserved, available} as the Convex host reports them."""
        return credits_breakdown(self.http)

    def total(self) -> float:
        return float(self.breakdown()["total"])

    def reserved(self) -> float:
        return float(self.breakdown()["reserved"])

    def active_slots(self) -> int:
        return int(self.query("generations:getActiveGenerations")["active"])

    def acquire_slot(self, prompt: str = "a red fox") -> str:
        answer = self.mutation(
            "generations:acquireGenerationSlot", {"type": "image", "prompt": prompt}
        )
        assert answer.get("ok") is True, answer
        return str(answer["generationId"])

    def reserve(self, amount: float) -> None:
        answer = self.mutation("users:reserveCredits", {"amount": amount})
        assert answer.get("success") is True, answer

    def capture(self, amount: float) -> dict[str, Any]:
        answer: dict[str, Any] = self.mutation("users:captureReservedCredits", {"amount": amount})
        return answer

    def release(self, amount: float) -> dict[str, Any]:
        answer: dict[str, Any] = self.mutation("users:releaseReservedCredits", {"amount": amount})
        return answer

    def set_slot(self, slot_id: str, status: str) -> None:
        self.mutation(
            "generations:updateGenerationStatus", {"generationId": slot_id, "status": status}
        )

    def create_session(self, title: str = "Rogue") -> str:
        return str(self.mutation("sessions:createSession", {"title": title, "type": "image"}))

    def session_rows(self, session_id: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.query(
            "sessions:getSessionGenerations", {"sessionId": session_id}
        )
        return rows

    # -- waiting for the server -----------------------------------------------------------
    def wait_settled(self, *, total: float, reserved: float = 0.0, active: int = 0) -> None:
        """Wait until the balance reaches ``total`` / ``reserved`` with ``active`` slots
        (the server settles in the background); fail with the last state seen."""
        deadline = time.monotonic() + SETTLE_DEADLINE_S
        seen: tuple[float, float, int] = (-1.0, -1.0, -1)
        while time.monotonic() < deadline:
            seen = (self.total(), self.reserved(), self.active_slots())
            if seen == (total, reserved, active):
                return
            time.sleep(0.1)
        raise AssertionError(
            f"expected (total, reserved, active) = {(total, reserved, active)}, last saw {seen}"
        )

    def assert_balance(self, *, total: float, reserved: float = 0.0, active: int = 0) -> None:
        seen = (self.total(), self.reserved(), self.active_slots())
        assert seen == (total, reserved, active), f"(total, reserved, active) = {seen}"


def rogue(backend: EmbeddedBackend, user_id: str | None = None) -> Rogue:
    uid = user_id or f"rogue-{uuid.uuid4().hex[:10]}"
    token = dev_token(backend, uid)
    http = httpx.Client(
        base_url=backend.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=90.0
    )
    return Rogue(backend, uid, http)


def jobs_of(backend: EmbeddedBackend, prompt: str | None = None) -> list[dict[str, Any]]:
    """Provider jobs the local provider holds (queued models), optionally by prompt."""
    return [j for j in local_jobs(backend) if prompt is None or j.get("prompt") == prompt]


HOLD_FIELDS = ("key", "slotId", "amount", "numImages", "state", "jobKey", "charged", "released")


def holds_of(backend: EmbeddedBackend, user_id: str) -> list[dict[str, Any]]:
    """The user's rows of the ``holds`` table (docs/billing.md names its fields), read-only."""
    return read_rows(
        backend.config.database(CONVEX_DB_NAME),
        select(holds)
        .join(users, users.c["_id"] == holds.c.userId)
        .where(users.c.subject == user_id)
        .order_by(seq_of(holds)),
        table=holds.name,
    )


def assert_all_settled(backend: EmbeddedBackend, user_id: str) -> list[dict[str, Any]]:
    """Every hold of the user is settled, and charged + released is its whole amount."""
    holds = holds_of(backend, user_id)
    for hold in holds:
        assert hold["state"] == "settled", {k: hold.get(k) for k in HOLD_FIELDS}
        assert round(hold["charged"] + hold["released"], 6) == hold["amount"], hold
        assert 0 <= hold["charged"] <= hold["amount"], hold
    return holds


def unique_prompt(label: str = "rogue") -> str:
    return f"{label} {uuid.uuid4().hex[:12]}"


def billing_of(answer: dict[str, Any]) -> dict[str, Any]:
    billing = answer.get("billing")
    assert isinstance(billing, dict), f"no billing in the answer: {answer}"
    return billing


def image_urls(answer: dict[str, Any]) -> list[str]:
    return [str(image["url"]) for image in answer.get("images", [])]


def final_answer(r: Rogue, resp: httpx.Response, model: str) -> dict[str, Any]:
    """The final answer of a 200 generate: polled to the end for a queued model."""
    assert resp.status_code == 200, resp.text
    answer: dict[str, Any] = resp.json()
    if answer.get("queued"):
        return r.poll_until_done(answer["requestId"], model)
    return answer


def finish(r: Rogue, resp: httpx.Response, model: str) -> dict[str, Any]:
    """The final answer of a 200 generate, which must be a success."""
    answer = final_answer(r, resp, model)
    assert answer.get("success") is True, answer
    return answer
