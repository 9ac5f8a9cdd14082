"""A lone surrogate anywhere in JSON is a 400 on every route, and no shape of input makes
the server answer 5xx or log an unhandled exception. One real embedded backend (all
routes and the Convex host) serves the whole module."""

from __future__ import annotations

import base64
import json
import logging
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.convex_host.registry import functions
from backend.server import EmbeddedBackend
from catalog import MODEL_IDS
from tests.conftest import FAST_TIMINGS
from tests.reliability.conftest import bearer, token_for

JSON_ROUTES = (
    "/api/mobile/generate-images",
    "/api/generate-images",
    "/api/mobile/r2-presign",
    "/api/r2-presign",
    "/api/generate-images/cancel",
    "/api/dev/token",
)
STATUS_PATH = "/api/generate-images/status"
SURROGATE = "\\ud800"  # as it is written inside JSON text


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedBackend, str]]:
    backend = EmbeddedBackend(
        Path(tmp_path_factory.mktemp("surrogates")),
        rate_limit_generate=100_000,
        rate_limit_presign=100_000,
        **FAST_TIMINGS,
    ).start()
    try:
        yield backend, token_for(backend.base_url, "shapes")
    finally:
        backend.stop()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def no_errors_logged() -> Iterator[None]:
    """Fails if anything logs at ERROR while the block runs: the app's "unhandled error"
    (root) and uvicorn's "Exception in ASGI application" ("uvicorn" does not propagate)."""
    handler = _Collect()
    loggers = [logging.getLogger(name) for name in (None, "uvicorn", "uvicorn.error")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    problems = {f"{r.name}: {r.getMessage()}" for r in handler.records}
    assert not problems, sorted(problems)[:5]


@contextmanager
def watched_client(
    live: tuple[EmbeddedBackend, str], *, convex: bool = False, timeout: float = 5.0
) -> Iterator[httpx.Client]:
    """A signed-in client of the routes (or, ``convex``, of the Convex host) for a block
    in which nothing may log an error."""
    backend, token = live
    base_url = backend.convex_url if convex else backend.base_url
    with (
        no_errors_logged(),
        httpx.Client(base_url=base_url, headers=bearer(token), timeout=timeout) as c,
    ):
        yield c


def _post(client: httpx.Client, path: str, raw: bytes | str) -> httpx.Response:
    content = raw.encode() if isinstance(raw, str) else raw
    return client.post(path, content=content, headers={"Content-Type": "application/json"})


def assert_route_error(resp: httpx.Response, status: int | None = None) -> dict[str, Any]:
    """``{error, code}`` with a readable sentence, and no 5xx."""
    assert resp.status_code < 500, (resp.status_code, resp.text[:300])
    if status is not None:
        assert resp.status_code == status, (resp.status_code, resp.text[:300])
    body = resp.json()
    assert isinstance(body.get("error"), str) and body["error"].strip(), body
    assert isinstance(body.get("code"), str) and body["code"], body
    assert "Traceback" not in resp.text
    return body


def assert_convex_answer(resp: httpx.Response) -> dict[str, Any]:
    """A Convex answer: 200 success/error with a message, or a 4xx {code, message, error}."""
    assert resp.status_code < 500, (resp.status_code, resp.text[:300])
    body = resp.json()
    if resp.status_code == 200:
        assert body["status"] in ("success", "error"), body
        if body["status"] == "error":
            assert isinstance(body["errorMessage"], str) and body["errorMessage"].strip()
    else:
        assert body["code"] and body["message"].strip() and body["error"] == body["message"]
    return body


# -- a lone surrogate, wherever it is, is a 400 ------------------------------------------------

ROUTE_BODIES = [
    ("/api/mobile/generate-images", f'{{"prompt": "{SURROGATE}", "model": "{MODEL_IDS[0]}"}}'),
    ("/api/mobile/generate-images", f'{{"prompt": "x", "model": "m{SURROGATE}"}}'),
    ("/api/mobile/generate-images", f'{{"prompt": "x", "aspectRatio": "1:1{SURROGATE}"}}'),
    ("/api/mobile/generate-images", f'{{"prompt": "x", "{SURROGATE}": 1}}'),
    (
        "/api/mobile/generate-images",
        f'{{"prompt": "x", "attachmentImages": [{{"url": "http://a/{SURROGATE}"}}]}}',
    ),
    ("/api/mobile/generate-images", '{"a": [[[{"b": [["\\udfff"]]}]]]}'),
    ("/api/generate-images", f'{{"prompt": "{SURROGATE}", "turnstileToken": "t"}}'),
    ("/api/generate-images", f'{{"prompt": "x", "turnstileToken": "{SURROGATE}"}}'),
    ("/api/mobile/r2-presign", f'{{"contentType": "{SURROGATE}"}}'),
    ("/api/mobile/r2-presign", f'{{"contentType": "image/png", "{SURROGATE}": 1}}'),
    ("/api/r2-presign", f'{{"contentType": "image/png{SURROGATE}", "size": 10}}'),
    ("/api/generate-images/cancel", f'{{"requestId": "{SURROGATE}", "modelId": "m"}}'),
    ("/api/generate-images/cancel", f'{{"idempotencyKey": "k{SURROGATE}"}}'),
    ("/api/dev/token", f'{{"userId": "{SURROGATE}"}}'),
]


@pytest.mark.parametrize(("path", "raw"), ROUTE_BODIES)
def test_lone_surrogates_are_400_on_every_json_route(
    live: tuple[EmbeddedBackend, str], path: str, raw: str
) -> None:
    with watched_client(live) as c:
        body = assert_route_error(_post(c, path, raw), 400)
        assert body["code"] == "invalid_json" and "surrogate" in body["error"], body
        # The same bytes sent raw (CESU-8 style) are not UTF-8 at all: also a 400.
        raw_bytes = raw.replace(SURROGATE, "@@").encode().replace(b"@@", b"\xed\xa0\x80")
        assert_route_error(_post(c, path, raw_bytes), 400)


CONVEX_BODIES = [
    ("query", f'{{"path": "{SURROGATE}", "args": {{}}}}'),
    ("query", f'{{"path": "users:getUserCredits{SURROGATE}", "args": {{}}}}'),
    ("mutation", f'{{"path": "sessions:createSession", "args": {{"title": "{SURROGATE}"}}}}'),
    ("mutation", f'{{"path": "users:reserveCredits", "args": {{"{SURROGATE}": 1}}}}'),
    ("mutation", f'{{"path": "users:reserveCredits", "args": {{"amount": 1}}, "{SURROGATE}": 1}}'),
    ("query", f'{{"path": "users:getUserCredits", "args": {{}}, "format": "{SURROGATE}"}}'),
    (
        "mutation",
        '{"path": "generations:acquireGenerationSlot", '
        f'"args": {{"type": "image", "prompt": "a{SURROGATE}b"}}}}',
    ),
    (
        "mutation",
        '{"path": "sessions:addGenerationToSession", "args": {"sessionId": "x", "prompt": "p", '
        f'"model": "m", "images": [{{"url": "u", "contentType": "{SURROGATE}"}}]}}}}',
    ),
    ("action", f'{{"path": "x", "args": {{"$bytes": "{SURROGATE}"}}}}'),
]


@pytest.mark.parametrize(("kind", "raw"), CONVEX_BODIES)
def test_lone_surrogates_are_400_on_the_convex_routes(
    live: tuple[EmbeddedBackend, str], kind: str, raw: str
) -> None:
    with watched_client(live, convex=True) as c:
        resp = _post(c, f"/api/{kind}", raw)
        assert resp.status_code == 400, resp.text
        body = assert_convex_answer(resp)
        assert body["code"] == "BadJsonBody" and "surrogate" in body["message"]


def test_surrogate_pairs_and_escaped_backslashes_are_fine(
    live: tuple[EmbeddedBackend, str],
) -> None:
    backend, token = live
    with watched_client(live, convex=True) as c:
        for raw_title, stored in (("\\ud83d\\ude00 hi", "\U0001f600 hi"), ("\\\\ud800", "\\ud800")):
            raw = f'{{"path": "sessions:createSession", "args": {{"title": "{raw_title}"}}}}'
            body = assert_convex_answer(_post(c, "/api/mutation", raw))
            assert body["status"] == "success", body
            sessions = c.post("/api/query", json={"path": "sessions:getUserSessions", "args": {}})
            assert stored in [s["title"] for s in sessions.json()["value"]]
    with httpx.Client(base_url=backend.base_url, headers=bearer(token)) as c:
        resp = _post(c, "/api/mobile/r2-presign", '{"contentType": "image/png\\ud83d\\ude00"}')
        assert assert_route_error(resp)["code"] != "invalid_json"


@pytest.mark.parametrize(
    "query",
    [
        "requestId=%ED%A0%80&modelId=m",
        "requestId=r&modelId=%ED%A0%80",
        "requestId=r&modelId=m&wait=%ED%A0%80",
        "requestId=%5Cud800&modelId=%5Cudfff&wait=%5Cud800",
        "requestId=%F0%9F%98%80&modelId=%C0%80",
    ],
)
def test_surrogates_in_status_query_strings_are_400(
    live: tuple[EmbeddedBackend, str], query: str
) -> None:
    backend, token = live
    with no_errors_logged():
        resp = httpx.get(f"{backend.base_url}{STATUS_PATH}?{query}", headers=bearer(token))
        assert_route_error(resp, 400)


# -- Hypothesis: surrogates, $-encoded values and wrong shapes at every depth -----------------

SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"])
TEXT = (
    st.text(max_size=10)
    | st.builds(lambda a, s, b: a + s + b, st.text(max_size=3), SURROGATES, st.text(max_size=3))
    | st.sampled_from(["\ud83d\ude00", "\\ud800", "", "$", "_id", "x" * 300])
)
B64 = st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode())
INT64 = st.integers(-(2**63), 2**63 - 1).map(
    lambda i: {"$integer": base64.b64encode(struct.pack("<q", i)).decode()}
)
ENCODED = INT64 | st.builds(
    lambda tag, payload: {tag: payload},
    st.sampled_from(["$bytes", "$integer", "$float", "$nope", "$", "$id"]),
    B64 | TEXT | st.integers() | st.none() | st.lists(st.integers(), max_size=2) | st.just({}),
)
LEAF = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and Infinity too: serialized as literals, which are not JSON
    | TEXT
    | ENCODED
)
FIELD_NAMES = sorted(
    {name for spec in functions().values() for name in spec.args.fields}
    | {"prompt", "model", "aspectRatio", "numImages", "attachmentImages", "url", "contentType"}
    | {"size", "turnstileToken", "userId", "requestId", "modelId", "idempotencyKey"}
)
KEYS = st.sampled_from([*FIELD_NAMES, "$id", "_id", "$bytes", "$integer", "__proto__"]) | TEXT
VALUE = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=10,
)


def _wrap(value: Any, depth: int, as_object: bool) -> Any:
    for i in range(depth):
        value = {FIELD_NAMES[i % len(FIELD_NAMES)]: value} if as_object else [value]
    return value


# A value anywhere from the top to past Convex's 64 levels.
DEEP = st.builds(_wrap, VALUE, st.integers(0, 70), st.booleans())
ARGS = st.dictionaries(KEYS, VALUE | DEEP, max_size=6) | VALUE | DEEP
PATHS = st.sampled_from(sorted(functions())) | st.sampled_from(["users", "users.js:x"]) | TEXT
CONVEX_BODY = (
    st.fixed_dictionaries(
        {"path": PATHS, "args": ARGS},
        optional={"format": st.sampled_from(["json", "convex_encoded_json", "xml"]) | VALUE},
    )
    | VALUE
)
ROUTE_BODY = (
    st.fixed_dictionaries(
        {},
        optional={
            "prompt": TEXT | VALUE,
            "model": st.sampled_from(MODEL_IDS) | TEXT,
            "attachmentImages": st.lists(st.fixed_dictionaries({"url": TEXT | VALUE}) | VALUE),
            "contentType": st.sampled_from(["image/png", "image/webp"]) | TEXT,
            "size": st.integers(-1, 10**6) | VALUE,
            "numImages": st.integers(-1, 8) | VALUE,
            "requestId": TEXT,
            "modelId": TEXT,
            "userId": TEXT,
        },
    )
    | st.dictionaries(KEYS, VALUE | DEEP, max_size=6)
    | VALUE
)


def _dumps(value: Any) -> str:
    # ensure_ascii writes a lone surrogate as its \uXXXX escape, as a JS client would.
    return json.dumps(value, allow_nan=True)


SETTINGS = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_convex_host_answers_any_shape(live: tuple[EmbeddedBackend, str]) -> None:
    with watched_client(live, convex=True, timeout=30) as c:

        @SETTINGS
        @given(kind=st.sampled_from(["query", "mutation", "action"]), body=CONVEX_BODY)
        def run(kind: str, body: Any) -> None:
            resp = _post(c, f"/api/{kind}", _dumps(body))
            assert_convex_answer(resp)

        run()


def test_json_routes_answer_any_shape(live: tuple[EmbeddedBackend, str]) -> None:
    with watched_client(live, timeout=30) as c:

        @SETTINGS
        @given(route=st.sampled_from(JSON_ROUTES), body=ROUTE_BODY)
        def run(route: str, body: Any) -> None:
            resp = _post(c, route, _dumps(body))
            assert resp.status_code < 500, (route, resp.status_code, resp.text[:300])
            if resp.status_code >= 400:
                assert_route_error(resp)
            else:
                assert isinstance(resp.json(), dict)

        run()


def test_status_route_answers_any_query(live: tuple[EmbeddedBackend, str]) -> None:
    def encoded(text: str) -> str:
        return quote(text.encode("utf-8", "surrogatepass"), safe="")

    with watched_client(live, timeout=30) as c:

        @settings(max_examples=40, deadline=None, database=None)
        @given(request_id=TEXT, model_id=TEXT | st.sampled_from(MODEL_IDS), wait=TEXT)
        def run(request_id: str, model_id: str, wait: str) -> None:
            query = (
                f"requestId={encoded(request_id)}&modelId={encoded(model_id)}&wait={encoded(wait)}"
            )
            resp = c.get(f"{STATUS_PATH}?{query}")
            assert_route_error(resp)

        run()
