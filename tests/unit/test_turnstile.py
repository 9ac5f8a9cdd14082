"""Turnstile: siteverify (mocked with respx), Cloudflare's test secrets, embedded mode."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from backend.config import BackendConfig
from backend.errors import ApiError
from backend.turnstile import (
    DUMMY_TOKEN,
    SITEVERIFY_URL,
    TEST_SECRET_PASS,
    TEST_SECRETS_FAIL,
    verify_turnstile,
)


def cfg(tmp_path: Path, **kw: object) -> BackendConfig:
    return BackendConfig(data_dir=tmp_path, **kw)  # type: ignore[arg-type]


async def fails(token: str | None, config: BackendConfig, status: int = 403) -> ApiError:
    with pytest.raises(ApiError) as err:
        await verify_turnstile(token, config)
    assert err.value.status == status
    if status == 403:
        assert err.value.code == "turnstile_failed"
    return err.value


async def test_embedded_accepts_only_the_dummy_token(tmp_path: Path) -> None:
    config = cfg(tmp_path, embedded=True)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(SITEVERIFY_URL)
        await verify_turnstile(DUMMY_TOKEN, config)
        for token in (None, "", "XXXX.DUMMY.TOKEN.XXXY", "anything"):
            await fails(token, config)
        assert not route.called  # no network in embedded mode


async def test_test_secrets_answer_locally(tmp_path: Path) -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(SITEVERIFY_URL)
        await verify_turnstile("any-token", cfg(tmp_path, turnstile_secret=TEST_SECRET_PASS))
        for secret in TEST_SECRETS_FAIL:
            await fails("any-token", cfg(tmp_path, turnstile_secret=secret))
        await fails(None, cfg(tmp_path, turnstile_secret=TEST_SECRET_PASS))
        assert not route.called


async def test_real_secret_posts_to_siteverify(tmp_path: Path) -> None:
    config = cfg(tmp_path, embedded=False, turnstile_secret="real-secret")
    with respx.mock() as mock:
        route = mock.post(SITEVERIFY_URL).respond(json={"success": True})
        await verify_turnstile("tok-1", config, remote_ip="203.0.113.7")
    form = parse_qs(route.calls.last.request.content.decode())
    assert form == {"secret": ["real-secret"], "response": ["tok-1"], "remoteip": ["203.0.113.7"]}


@pytest.mark.parametrize(
    ("answer", "phrase"),
    [
        ({"success": False, "error-codes": ["invalid-input-response"]}, "did not pass"),
        ({"success": False, "error-codes": ["timeout-or-duplicate"]}, "already used"),
        ({"success": "true"}, "did not pass"),
    ],
)
async def test_siteverify_rejections(tmp_path: Path, answer: dict, phrase: str) -> None:
    config = cfg(tmp_path, embedded=False, turnstile_secret="real-secret")
    with respx.mock() as mock:
        mock.post(SITEVERIFY_URL).respond(json=answer)
        err = await fails("tok", config)
    assert phrase in err.message


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500, text="oops"),
        httpx.Response(200, text="not json"),
        httpx.ConnectError("x"),
    ],
)
async def test_siteverify_outage_is_502(tmp_path: Path, response: object) -> None:
    config = cfg(tmp_path, embedded=False, turnstile_secret="real-secret")
    with respx.mock() as mock:
        route = mock.post(SITEVERIFY_URL)
        if isinstance(response, Exception):
            route.side_effect = response
        else:
            route.return_value = response
        err = await fails("tok", config, status=502)
    assert err.code == "turnstile_unavailable"


async def test_serve_without_secret_is_not_configured(tmp_path: Path) -> None:
    err = await fails(DUMMY_TOKEN, cfg(tmp_path, embedded=False), status=503)
    assert err.code == "turnstile_not_configured"


async def test_oversized_token_is_refused_without_network(tmp_path: Path) -> None:
    config = cfg(tmp_path, embedded=False, turnstile_secret="real-secret")
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(SITEVERIFY_URL)
        await fails("x" * 3000, config)
        assert not route.called
