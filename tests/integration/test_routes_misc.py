"""Catalog, health, OpenAPI, the embedded auth routes and JWT failures, over real HTTP."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest

from backend.auth.dev_keys import DevKeyPair
from backend.server import EmbeddedBackend
from catalog import MODEL_IDS, catalog_document
from tests.conftest import BackendFactory, auth_headers, dev_token
from tests.integration.routes_support import GENERATE_PATH, PRESIGN_PATH, STATUS_PATH, assert_error


def test_models_route_serves_the_catalog_document(backend: EmbeddedBackend) -> None:
    resp = httpx.get(backend.base_url + "/api/mobile/models")
    assert resp.status_code == 200
    body = resp.json()
    assert body == catalog_document()
    assert sorted(m["id"] for m in body["models"]) == sorted(MODEL_IDS)
    assert len(body["models"]) == 23


def test_models_route_is_what_imagegen_models_json_prints(
    backend: EmbeddedBackend, capsys: pytest.CaptureFixture[str]
) -> None:
    from gui import cli

    assert cli.main(["models", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert httpx.get(backend.base_url + "/api/mobile/models").json() == printed


def test_healthz_in_embedded_mode(backend: EmbeddedBackend) -> None:
    body = httpx.get(backend.base_url + "/healthz").json()
    assert body["ok"] is True
    assert body["mode"] == "embedded"
    assert body["providers"] == {"fal": "local", "wavespeed": "local", "azure": "local"}


def test_healthz_reports_a_configured_provider_as_real(backend_factory: BackendFactory) -> None:
    backend = backend_factory(fal_key="test-key")
    providers = httpx.get(backend.base_url + "/healthz").json()["providers"]
    assert providers == {"fal": "real", "wavespeed": "local", "azure": "local"}


def test_openapi_lists_every_route(backend: EmbeddedBackend) -> None:
    doc = httpx.get(backend.base_url + "/openapi.json").json()
    assert doc["info"]["title"] == "imagegen backend"
    for path in (
        GENERATE_PATH,
        "/api/generate-images",
        STATUS_PATH,
        PRESIGN_PATH,
        "/api/r2-presign",
        "/api/mobile/models",
        "/healthz",
    ):
        assert path in doc["paths"], path


def test_unknown_routes_and_methods_answer_json(backend: EmbeddedBackend) -> None:
    assert_error(httpx.get(backend.base_url + "/api/nope"), 404, "not_found")
    resp = httpx.get(backend.base_url + GENERATE_PATH)
    assert_error(resp, 405, "method_not_allowed")
    assert resp.headers["allow"] == "POST"


def test_dev_token_is_short_lived_and_names_the_user(backend: EmbeddedBackend) -> None:
    resp = httpx.post(backend.base_url + "/api/dev/token", json={"userId": "ada"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["expiresIn"] == 60
    payload = body["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == "ada"
    assert claims["exp"] - claims["iat"] == 60
    default = httpx.post(backend.base_url + "/api/dev/token").json()["token"]
    assert default.count(".") == 2


def test_dev_token_rejects_bad_user_ids(backend: EmbeddedBackend) -> None:
    for body in ({"userId": ""}, {"userId": 5}, {"userId": "a b"}, {"userId": "x" * 200}, [1]):
        assert_error(httpx.post(backend.base_url + "/api/dev/token", json=body), 400)


def test_jwks_is_served_and_matches_the_signing_key(backend: EmbeddedBackend) -> None:
    keys = httpx.get(backend.base_url + "/.well-known/jwks.json").json()["keys"]
    token = dev_token(backend)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert [k["kid"] for k in keys] == [header["kid"]]
    assert keys[0]["alg"] == "RS256" and "d" not in keys[0]


def test_dev_routes_do_not_exist_outside_embedded_mode(backend_factory: BackendFactory) -> None:
    backend = backend_factory(embedded=False)
    assert_error(httpx.post(backend.base_url + "/api/dev/token", json={}), 404, "not_found")
    assert_error(httpx.get(backend.base_url + "/.well-known/jwks.json"), 404, "not_found")
    # No JWKS configured at all: authenticated routes say so instead of failing oddly.
    resp = httpx.post(backend.base_url + GENERATE_PATH, json={}, headers=auth_headers("x.y.z"))
    assert_error(resp, 503, "auth_not_configured")


def _alg_none_token(sub: str) -> str:
    def enc(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"sub": sub, "iss": "imagegen-embedded", "exp": now + 60, "iat": now}
    return f"{enc({'alg': 'none', 'typ': 'JWT'})}.{enc(claims)}."


def test_jwt_failures_are_401(backend: EmbeddedBackend) -> None:
    keys = DevKeyPair.load_or_create(backend.config.data_dir)
    stranger = DevKeyPair.generate()
    cases = {
        "expired": (keys.issue_token("local-user", 60, now=time.time() - 3600), "token_expired"),
        "wrong key": (stranger.issue_token("local-user"), "unauthorized"),
        "wrong key, same kid": (
            DevKeyPair(stranger.private_key, keys.kid).issue_token("local-user"),
            "unauthorized",
        ),
        "wrong issuer": (keys.issue_token("local-user", issuer="someone-else"), "unauthorized"),
        "not yet valid": (keys.issue_token("local-user", now=time.time() + 3600), "unauthorized"),
        "alg none": (_alg_none_token("local-user"), "unauthorized"),
        "garbage": ("abc.def.ghi", "unauthorized"),
    }
    for name, (token, code) in cases.items():
        resp = httpx.post(
            backend.base_url + PRESIGN_PATH,
            json={"contentType": "image/png"},
            headers=auth_headers(token),
        )
        assert resp.status_code == 401, name
        assert resp.json()["code"] == code, name
    missing = httpx.post(backend.base_url + PRESIGN_PATH, json={"contentType": "image/png"})
    assert_error(missing, 401, "unauthorized")
