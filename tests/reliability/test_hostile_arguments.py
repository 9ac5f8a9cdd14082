"""Hypothesis against the catalog's ``validate`` and every Convex host function: whatever
arrives, the answer is a list of problems / a Convex-style error, never a crash or a 500."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from backend.app import CONVEX_DB_NAME
from backend.auth.identity import Identity
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.errors import ConvexFunctionError, ConvexSystemError
from backend.convex_host.invariants import check_invariants
from backend.convex_host.registry import functions, run_function
from backend.convex_host.tables import generations, users
from backend.server import EmbeddedBackend
from catalog import MODEL_IDS, Problem, normalize, validate
from tests.database_fixtures import BackendDatabases
from tests.reliability.conftest import bearer, token_for

# The host's functions and HTTP API on SQLite and on PostgreSQL alike.
pytestmark = pytest.mark.both_databases

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = (
    "prompt",
    "model",
    "aspectRatio",
    "numImages",
    "resolution",
    "quality",
    "attachmentCount",
    "attachmentImages",
    "aspect_ratio",
    "num_images",
)
PLAUSIBLE = {
    "prompt": st.text(max_size=60) | st.just("@Image3 @image0 @Image99999999999999"),
    "model": st.sampled_from(MODEL_IDS) | st.text(max_size=20),
    "aspectRatio": st.sampled_from(["1:1", "16:9", "21:9", "9:16", "0:0", "1:0", "x"]) | JSON,
    "numImages": st.integers(-3, 12) | JSON,
    "resolution": st.sampled_from(["1K", "2K", "4K", "8K"]) | JSON,
    "quality": st.sampled_from(["medium", "high", "low"]) | JSON,
    "attachmentCount": st.integers(-2, 12) | JSON,
}


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=8) | JSON)
def test_validate_never_raises_on_anything(data: Any) -> None:
    problems = validate(data)
    assert isinstance(problems, list)
    for problem in problems:
        assert isinstance(problem, Problem) and problem.message.strip()


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({}, optional=PLAUSIBLE))
def test_validate_and_normalize_agree(data: dict[str, Any]) -> None:
    """Whatever validate accepts, normalize turns into a priced request."""
    problems = validate(data)
    if problems:
        return
    normalized = normalize(data)
    assert normalized.cost > 0
    assert normalized.model.id == data["model"]


SPECS = sorted(functions().values(), key=lambda s: s.path)
IDS = st.sampled_from(["", "x", "users|abc", "0" * 32]) | st.text(max_size=40)
ARGS = (
    st.dictionaries(
        st.sampled_from(
            [
                "amount",
                "prompt",
                "type",
                "generationId",
                "status",
                "imageUrl",
                "sessionId",
                "title",
                "images",
                "isLoading",
                "error",
                "numImages",
                "model",
                "modelLabel",
                "aspectRatio",
                "concurrencySlotId",
                "externalRequestId",
                "completedAt",
                "quality",
                "providerEndpoint",
                "$id",
                "__proto__",
            ]
        ),
        JSON | IDS,
        max_size=10,
    )
    | JSON
)


def test_every_convex_function_is_fuzzed() -> None:
    assert len(SPECS) >= 15, [s.path for s in SPECS]


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spec=st.sampled_from(SPECS), args=ARGS, anonymous=st.booleans())
def test_convex_functions_answer_random_args_with_convex_errors(
    tmp_path_factory: Any, backend_database: BackendDatabases, spec: Any, args: Any, anonymous: bool
) -> None:
    db = _db(tmp_path_factory, backend_database)
    identity = None if anonymous else Identity(user_id="fuzz", claims={"sub": "fuzz"})
    try:
        run_function(db, spec.kind, spec.path, args, identity)
    except (ConvexFunctionError, ConvexSystemError) as exc:
        assert str(exc).strip()
    # Whatever was accepted, the money and slots stay consistent.
    with db.read() as conn:
        row = conn.execute(select(users.c.reservedCredits, users.c.credits)).mappings().first()
    if row is not None:
        assert row["reservedCredits"] >= 0
        assert row["credits"] >= 0


_DBS: dict[str, ConvexDatabase] = {}


def _db(factory: Any, databases: BackendDatabases) -> ConvexDatabase:
    """One database per dialect for all the examples (opening one per example is slow)."""
    if databases.dialect not in _DBS:
        data_dir = Path(factory.mktemp("convex"))
        _DBS[databases.dialect] = ConvexDatabase(databases.target(data_dir, "fuzz.sqlite3"))
    return _DBS[databases.dialect]


def test_convex_http_api_never_500s(backend: EmbeddedBackend) -> None:
    token = token_for(backend.base_url, "fuzz-http")
    bodies: list[Any] = [
        b"",
        b"{",
        b"[]",
        b'"x"',
        b'{"path": 1}',
        b'{"path": "users:reserveCredits", "args": {"amount": 1e309}}',
        b'{"path": "users:reserveCredits", "args": {"amount": -1}}',
        b'{"path": "users:reserveCredits", "args": [1]}',
        b'{"path": "nope:nothing", "args": {}}',
        b'{"path": "users:getUserCredits", "args": {}, "format": "xml"}',
        b'{"path": "../../etc:passwd"}',
        b'{"path": "users:reserveCredits", "args": {"amount": 1, "extra": 2}}',
    ]
    for kind in ("query", "mutation", "action"):
        for body in bodies:
            resp = httpx.post(
                f"{backend.convex_url}/api/{kind}",
                content=body,
                headers={**bearer(token), "Content-Type": "application/json"},
            )
            assert resp.status_code < 500, (kind, body[:80], resp.status_code, resp.text[:200])
            data = resp.json()
            assert data.get("status") == "error" or "message" in data or "value" in data


def test_convex_http_api_nesting_bomb(backend: EmbeddedBackend) -> None:
    token = token_for(backend.base_url, "fuzz-bomb")
    resp = httpx.post(
        f"{backend.convex_url}/api/query",
        content=b"[" * 100_000 + b"]" * 100_000,
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    assert resp.status_code == 400, resp.status_code


@pytest.mark.parametrize("encoded", [{"$integer": "AAAA"}, {"$float": "!!"}])
def test_convex_bad_encoded_numbers(backend: EmbeddedBackend, encoded: dict[str, str]) -> None:
    token = token_for(backend.base_url, "fuzz-int")
    resp = httpx.post(
        f"{backend.convex_url}/api/mutation",
        json={"path": "users:reserveCredits", "args": {"amount": encoded}},
        headers=bearer(token),
    )
    assert resp.status_code == 200 and resp.json()["status"] == "error", resp.text


async def test_new_users_first_calls_may_race(backend: EmbeddedBackend) -> None:
    """The engine's first generation acquires a slot and reserves credits at once; for a
    new user both create the users row. Neither may fail."""
    token = token_for(backend.base_url, "newcomer")
    async with httpx.AsyncClient(timeout=30) as client:

        async def call(path: str, args: dict[str, Any]) -> httpx.Response:
            return await client.post(
                f"{backend.convex_url}/api/mutation",
                json={"path": path, "args": args, "format": "json"},
                headers=bearer(token),
            )

        answers = await asyncio.gather(
            *(
                call("generations:acquireGenerationSlot", {"type": "image", "prompt": "p"})
                if i % 2
                else call("users:reserveCredits", {"amount": 1})
                for i in range(8)
            )
        )
    assert [a.status_code for a in answers] == [200] * 8, [a.text[:120] for a in answers]
    database = backend.config.database(CONVEX_DB_NAME)
    with ConvexDatabase(database) as db, db.read() as conn:
        reserved = conn.execute(
            select(users.c.reservedCredits).where(users.c.subject == "newcomer")
        ).scalars()
        assert list(reserved) == [4.0]
        slots = conn.execute(
            select(func.count()).select_from(generations).where(generations.c.status == "active")
        )
        assert slots.scalar_one() == 4  # all four fit under the limit of 4
    with ConvexDatabase(database) as db:
        problems = check_invariants(db, "newcomer", in_flight_slot_ids={"*"})
    assert not [p for p in problems if "negative" in p]
