"""The Convex function host keeps Convex's own limits (docs.convex.dev/production/state/
limits; see backend/convex_host/values.py) and rate-limits mutations per caller, over a
real uvicorn server. A refusal is Convex-shaped: HTTP 200 ``{status: "error",
errorMessage}`` for arguments, a 4xx ``{code, message, error}`` for the request itself."""

from __future__ import annotations

import base64
import struct
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from backend.app import add_routes
from backend.auth.dev_keys import DevKeyPair
from backend.auth.verifier import JwtVerifier
from backend.config import BackendConfig
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.errors import ArgumentValidationError
from backend.convex_host.router import build_convex_router, mutation_limit_for
from backend.convex_host.tables import sessions, users
from backend.convex_host.values import (
    MAX_ARRAY_LEN,
    MAX_DOCUMENT_BYTES,
    MAX_FIELDS,
    MAX_NESTING,
    decode_value,
)
from backend.errors import install_error_handlers
from backend.runner import ThreadedServer
from backend.server import EmbeddedBackend
from tests.database_fixtures import BackendDatabases
from tests.integration.convex_support import Host, convex_host
from tests.reliability.conftest import bearer, token_for

# The host's limits over HTTP on SQLite and on PostgreSQL alike.
pytestmark = pytest.mark.both_databases

# -- the decoder alone: the exact boundaries --------------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def test_limits_are_convexs_documented_numbers() -> None:
    assert (MAX_DOCUMENT_BYTES, MAX_FIELDS, MAX_ARRAY_LEN, MAX_NESTING) == (2**20, 1024, 8192, 64)


def test_values_at_the_limits_decode_and_one_past_is_refused() -> None:
    assert len(decode_value({"a": [0] * MAX_ARRAY_LEN})["a"]) == MAX_ARRAY_LEN
    with pytest.raises(ArgumentValidationError, match=r"Array length is too long \(8193 > "):
        decode_value({"a": [0] * (MAX_ARRAY_LEN + 1)})
    assert len(decode_value({f"f{i}": i for i in range(MAX_FIELDS)})) == MAX_FIELDS
    with pytest.raises(ArgumentValidationError, match=r"too many fields \(1025 > "):
        decode_value({f"f{i}": i for i in range(MAX_FIELDS + 1)})
    decode_value(_nested(MAX_NESTING))  # 64 arrays: Convex's MAX_NESTING
    with pytest.raises(ArgumentValidationError, match="nested more than 64 levels"):
        decode_value(_nested(MAX_NESTING + 1))
    decode_value({"s": "x" * (MAX_DOCUMENT_BYTES - 100)})
    with pytest.raises(ArgumentValidationError, match=r"Value is too large .*1 MiB"):
        decode_value({"s": "x" * MAX_DOCUMENT_BYTES})
    with pytest.raises(ArgumentValidationError, match="too large"):  # many small parts
        decode_value({"a": ["y" * 1000] * 1100})
    with pytest.raises(ArgumentValidationError, match="too large"):  # multi-byte UTF-8
        decode_value({"s": "é" * (MAX_DOCUMENT_BYTES // 2)})


def test_values_far_too_deep_are_no_recursion_error() -> None:
    with pytest.raises(ArgumentValidationError, match="nested more than 64"):
        decode_value(_nested(200_000))
    deep: Any = {}
    for _ in range(50_000):
        deep = {"k": deep}
    with pytest.raises(ArgumentValidationError, match="nested more than 64"):
        decode_value(deep)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({"$id": "x", "b": 1}, r"starts with '\$', which is reserved"),
        ({"é": 1}, "non-control ASCII"),
        ({"a\nb": 1}, "non-control ASCII"),
        ({"k" * 1025: 1}, r"Field name is too long \(1025 > maximum 1024\)"),
        ({"s": "\ud800"}, "unpaired surrogate"),
        ({"\udfff": 1}, "non-control ASCII"),
        ({"$bytes": 5}, r"\$bytes takes a base64 string, not number"),
        ({"$bytes": [[[]]]}, "takes a base64 string, not array"),
        ({"$bytes": "!!!"}, "not valid base64"),
        ({"$integer": "AAAA"}, "exactly 8 bytes, not 3"),
        ({"$float": base64.b64encode(struct.pack("<d", 1.5)).decode()}, "only for NaN"),
        ({"$set": []}, 'not one of "\\$bytes"'),
        ({"n": 10**400}, "too large for a float64"),
        ({"o": object()}, "Unsupported value"),
    ],
)
def test_what_convex_refuses_is_an_argument_error(value: Any, fragment: str) -> None:
    with pytest.raises(ArgumentValidationError, match=fragment) as info:
        decode_value(value)
    info.value.message.encode("utf-8")  # every message can be sent as UTF-8


def test_encoded_values_decode() -> None:
    one = base64.b64encode(struct.pack("<q", 7)).decode()
    nan = base64.b64encode(struct.pack("<d", float("nan"))).decode()
    decoded = decode_value({"b": {"$bytes": "AAE="}, "i": {"$integer": one}, "f": {"$float": nan}})
    assert decoded["b"] == b"\x00\x01" and decoded["i"].value == 7
    assert decoded["f"] != decoded["f"]


# -- over HTTP --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def host(
    tmp_path_factory: pytest.TempPathFactory, backend_database: BackendDatabases
) -> Iterator[Host]:
    root = tmp_path_factory.mktemp("limits")
    database = backend_database.url_for(root)
    with convex_host(root, starting_credits=200, slot_limit=4, database=database) as h:
        yield h


def _call(host: Host, kind: str, path: str, args: Any, sub: str | None = None) -> httpx.Response:
    token = host.keys.issue_token(sub or f"user_{uuid.uuid4().hex[:10]}")
    return httpx.post(
        f"{host.url}/api/{kind}",
        json={"path": path, "args": args, "format": "json"},
        headers=bearer(token),
        timeout=30,
    )


def _refused(resp: httpx.Response, fragment: str) -> str:
    assert resp.status_code == 200, (resp.status_code, resp.text[:300])
    body = resp.json()
    assert body["status"] == "error", body
    message: str = body["errorMessage"]
    assert fragment in message, message[:300]
    assert len(message) < 2000  # a preview, never the whole value echoed back
    return message


def test_documents_over_one_mebibyte_are_refused(host: Host) -> None:
    sub = "big-title"
    resp = _call(host, "mutation", "sessions:createSession", {"title": "t" * 2**20}, sub)
    _refused(resp, "Value is too large")
    with host.db.read() as conn:
        stored = conn.execute(
            select(func.count()).select_from(sessions).where(func.length(sessions.c.title) >= 2**20)
        )
        assert stored.scalar_one() == 0
    ok = _call(host, "mutation", "sessions:createSession", {"title": "t" * 500_000}, sub)
    assert ok.json()["status"] == "success", ok.text[:200]


def test_arrays_fields_and_nesting_past_the_limits(host: Host) -> None:
    session = _call(host, "mutation", "sessions:createSession", {"title": "s"}, "arrays").json()
    base = {"sessionId": session["value"], "prompt": "p", "model": "m"}
    images = [{"url": "u"}] * (MAX_ARRAY_LEN + 1)
    resp = _call(host, "mutation", "sessions:addGenerationToSession", {**base, "images": images})
    _refused(resp, "Array length is too long (8193 > maximum length 8192)")
    fields = {f"f{i}": 1 for i in range(MAX_FIELDS + 1)}
    _refused(_call(host, "query", "users:getUserCredits", fields), "too many fields (1025")
    deep = _call(host, "query", "users:getUserCredits", {"x": _nested(MAX_NESTING + 5)})
    _refused(deep, "nested more than 64 levels")
    # Within the value limits but deeper than any validator: the validator refuses it.
    _refused(_call(host, "query", "users:getUserCredits", {"x": _nested(20)}), "extra field `x`")


@pytest.mark.parametrize(
    ("path", "args", "where"),
    [
        ("users:reserveCredits", {"$bytes": "AAAA"}, "v.object({amount"),
        ("users:reserveCredits", {"$integer": "AQAAAAAAAAA="}, "v.object({amount"),
        ("users:reserveCredits", {"amount": {"$integer": "AQAAAAAAAAA="}}, "Path: .amount"),
        ("sessions:createSession", {"title": {"$bytes": "aGk="}}, "Path: .title"),
        ("sessions:createSession", {"title": 12}, "Path: .title"),
        ("sessions:createSession", {"title": ["t"]}, "Path: .title"),
        ("sessions:createSession", {"title": {"t": "t"}}, "Path: .title"),
        ("users:reserveCredits", [{"amount": 1}], "must be an object"),
        ("users:reserveCredits", "amount", "must be an object"),
    ],
)
def test_wrong_shapes_are_argument_validation_errors(
    host: Host, path: str, args: Any, where: str
) -> None:
    message = _refused(_call(host, "mutation", path, args), "ArgumentValidationError")
    assert where in message, message


def test_non_objects_in_an_array_of_objects(host: Host) -> None:
    session = _call(host, "mutation", "sessions:createSession", {"title": "s"}, "shapes").json()
    base = {"sessionId": session["value"], "prompt": "p", "model": "m"}
    for bad, index in (
        ([1], 0),
        ([{"url": "a"}, "b"], 1),
        ([{"url": "a"}, {"$bytes": "AA=="}], 1),
        ([{"url": {"$integer": "AQAAAAAAAAA="}}], 0),
        ([None], 0),
        ([[{"url": "a"}]], 0),
    ):
        resp = _call(host, "mutation", "sessions:addGenerationToSession", {**base, "images": bad})
        _refused(resp, f"Path: .images[{index}]")


def test_bad_paths_and_non_json_numbers(host: Host) -> None:
    for path in ("x" * 100_000, "users:get\u00e9", "users:\x00"):
        _refused(_call(host, "query", path, {}), "Could not find public function")
    headers = {**bearer(host.keys.issue_token("nums")), "Content-Type": "application/json"}
    for literal in (b"NaN", b"Infinity", b"-Infinity", b"1e400"):
        body = b'{"path": "users:reserveCredits", "args": {"amount": ' + literal + b"}}"
        resp = httpx.post(f"{host.url}/api/mutation", content=body, headers=headers)
        assert resp.status_code == 400 and resp.json()["code"] == "BadJsonBody", resp.text
        assert "finite" in resp.json()["message"]


# -- mutation rate limit ----------------------------------------------------------------------


@pytest.fixture
def limited(tmp_path: Path, backend_database: BackendDatabases) -> Iterator[Host]:
    """A host that allows 5 mutations a minute per caller."""
    keys = DevKeyPair.load_or_create(tmp_path)
    database = backend_database.target(tmp_path, "convex.sqlite3")
    db = ConvexDatabase(database, starting_credits=100, slot_limit=4)
    app = FastAPI()
    install_error_handlers(app)
    app.state.verifier = JwtVerifier.from_dev_keys(keys)
    add_routes(app, build_convex_router(db, mutation_limit=5, window_s=60, prefix="/convex"))
    try:
        with ThreadedServer(app) as server:
            yield Host(server.base_url + "/convex", keys, db)
    finally:
        db.close()


def test_mutations_are_rate_limited_per_user(limited: Host) -> None:
    for _ in range(5):
        resp = _call(limited, "mutation", "users:reserveCredits", {"amount": 1}, "alice")
        assert resp.json()["status"] == "success", resp.text
    refused = _call(limited, "mutation", "users:reserveCredits", {"amount": 1}, "alice")
    assert refused.status_code == 429, refused.text
    body = refused.json()
    assert body["code"] == "RateLimited" and body["message"] == body["error"]
    assert "Too many requests" in body["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # The refused call did nothing; queries and other users are not limited.
    with limited.db.read() as conn:
        row = conn.execute(select(users.c.reservedCredits).where(users.c.subject == "alice"))
        assert row.scalar_one() == 5.0
    assert _call(limited, "query", "users:getUserCredits", {}, "alice").json()["status"] == (
        "success"
    )
    other = _call(limited, "mutation", "users:reserveCredits", {"amount": 1}, "bob")
    assert other.json()["status"] == "success"


def test_anonymous_mutations_share_one_bucket_per_address(limited: Host) -> None:
    url = f"{limited.url}/api/mutation"
    answers = [
        httpx.post(url, json={"path": "users:reserveCredits", "args": {"amount": 1}})
        for _ in range(6)
    ]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert "Not authenticated" in answers[0].json()["errorMessage"]


def test_the_app_wires_its_limiter_and_scales_with_the_generation_limit(
    tmp_path: Path, backend_database: BackendDatabases
) -> None:
    assert mutation_limit_for(None) == (120, 60.0)
    config = BackendConfig(data_dir=tmp_path, rate_limit_generate=30, rate_limit_window_s=90)
    assert mutation_limit_for(config) == (240, 90)
    config = BackendConfig(data_dir=tmp_path, rate_limit_generate=1)
    assert mutation_limit_for(config)[0] == 120
    database = backend_database.url_for(tmp_path / "b")
    with EmbeddedBackend(tmp_path / "b", rate_limit_generate=1, database_url=database) as backend:
        headers = bearer(token_for(backend.base_url, "busy"))
        body = {"path": "users:reserveCredits", "args": {"amount": 0.5}}
        with httpx.Client(base_url=backend.convex_url, headers=headers, timeout=30) as http:
            codes = [http.post("/api/mutation", json=body).status_code for _ in range(121)]
        assert codes[:120] == [200] * 120 and codes[120] == 429
