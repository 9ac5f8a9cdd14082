"""errors_map: provider failures become user sentences with nothing secret in them."""

from __future__ import annotations

import httpx
import pytest

from backend.providers import errors_map
from backend.providers.base import ProviderError
from backend.providers.outputs import decode_data_uri, fal_images


def test_scrub_removes_keys_auth_and_urls() -> None:
    text = (
        "failed with Authorization: Key abc:def for "
        "https://r2.test/x.png?X-Amz-Signature=s3cr3t and Bearer tok123 and api-key=zzz mykey"
    )
    out = errors_map.scrub(text, ["mykey"])
    for secret in ("abc:def", "s3cr3t", "tok123", "zzz", "mykey", "https://"):
        assert secret not in out
    assert "[link]" in out and "[redacted]" in out


def test_scrub_trims_long_messages() -> None:
    assert len(errors_map.scrub("word " * 500)) <= 300


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (422, {"detail": [{"msg": "bad", "type": "content_policy_violation"}]}, "content_policy"),
        (400, {"error": {"code": "contentFilter", "message": "x"}}, "content_policy"),
        (422, {"detail": [{"loc": ["body", "prompt"], "msg": "too long"}]}, "provider_rejected"),
        (404, "Not Found", "provider_rejected"),
        (408, None, "provider_timeout"),
        (504, None, "provider_timeout"),
        (429, {}, "provider_busy"),
        (403, {}, "provider_auth"),
        (503, "<html>nginx</html>", "provider_unavailable"),
    ],
)
def test_from_http_codes(status: int, body: object, code: str) -> None:
    assert errors_map.from_http(status, body).code == code


def test_rejected_quotes_the_provider_message() -> None:
    err = errors_map.from_http(422, {"detail": [{"loc": ["body", "prompt"], "msg": "too long"}]})
    assert err.message == "The provider rejected the request: prompt: too long."


def test_transport_exceptions() -> None:
    assert errors_map.from_exception(httpx.ConnectTimeout("x")).code == "provider_timeout"
    assert errors_map.from_exception(httpx.RemoteProtocolError("x")).code == (
        "provider_unavailable"
    )


def test_data_uri_decoding_and_errors() -> None:
    assert decode_data_uri("data:image/webp;base64,aGk=") == (b"hi", "image/webp")
    with pytest.raises(ProviderError):
        decode_data_uri("data:image/png;base64,@@not-base64@@")
    with pytest.raises(ProviderError):
        decode_data_uri("data:image/png,plain")


def test_fal_images_shapes() -> None:
    assert fal_images({"image": {"url": "https://x/1.png"}})[0].url == "https://x/1.png"
    assert fal_images({"images": ["https://x/2.png"]})[0].url == "https://x/2.png"
    with pytest.raises(ProviderError) as info:
        fal_images({"images": []})
    assert info.value.message == "The provider finished but returned no images."
