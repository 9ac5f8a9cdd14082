"""AzureProvider (GPT-Image 1 and its edit) at the HTTP layer."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import logging
from email.message import Message

import httpx
import pytest
import respx

from backend.providers.azure import AzureProvider, derive_edits_url
from backend.providers.base import ProviderError, ProviderRequest
from catalog import get_model

KEY = "azure-test-key-42"
BASE = (
    "https://res.openai.azure.com/openai/deployments/gpt-image-1/images/generations"
    "?api-version=2025-04-01-preview"
)
EDITS = (
    "https://res.openai.azure.com/openai/deployments/gpt-image-1/images/edits"
    "?api-version=2025-04-01-preview"
)
ATTACHMENT = "http://127.0.0.1:8765/files/uploads/u1/cat.jpg"
IMG_A = b"\x89PNG-azure-a"
IMG_B = b"\x89PNG-azure-b"
SOURCE = b"\xff\xd8\xff-jpeg-source-bytes"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def answer(*images: bytes) -> httpx.Response:
    return httpx.Response(200, json={"created": 1, "data": [{"b64_json": b64(i)} for i in images]})


def req(
    model_id: str, ratio: str = "1:1", n: int = 1, urls: tuple[str, ...] = ()
) -> ProviderRequest:
    model = get_model(model_id)
    assert model is not None
    return ProviderRequest(
        prompt="a cat in a hat", model=model, aspect_ratio=ratio, num_images=n, attachment_urls=urls
    )


def parse_multipart(request: httpx.Request) -> list[Message]:
    raw = b"Content-Type: " + request.headers["content-type"].encode() + b"\r\n\r\n"
    msg = email.message_from_bytes(raw + request.content, policy=email.policy.HTTP)
    return list(msg.iter_parts())  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("ratio", "size"), [("1:1", "1024x1024"), ("4:3", "1536x1024"), ("3:4", "1024x1536")]
)
async def test_generation_sends_exact_request(ratio: str, size: str) -> None:
    provider = AzureProvider(KEY, BASE, None)
    with respx.mock() as mock:
        route = mock.post(BASE).mock(return_value=answer(IMG_A, IMG_B))
        result = await provider.submit(req("img-gpt-image-1", ratio=ratio, n=2))
    sent = route.calls.last.request
    assert str(sent.url) == BASE
    assert sent.headers["api-key"] == KEY
    assert "authorization" not in sent.headers
    assert json.loads(sent.content) == {"prompt": "a cat in a hat", "size": size, "n": 2}
    assert not result.queued
    assert [i.data for i in result.images] == [IMG_A, IMG_B]
    assert all(i.url is None for i in result.images)
    await provider.aclose()


def test_edits_url_is_derived_from_base_url() -> None:
    assert derive_edits_url(BASE) == EDITS
    assert AzureProvider(KEY, BASE, None).edits_url == EDITS
    assert AzureProvider(KEY, BASE, "https://other.test/edits").edits_url == (
        "https://other.test/edits"
    )


@pytest.mark.parametrize("explicit", [None, "https://edits.example.test/images/edits?v=1"])
async def test_edit_is_multipart_with_exactly_one_image(explicit: str | None) -> None:
    provider = AzureProvider(KEY, BASE, explicit)
    target = explicit or EDITS
    with respx.mock() as mock:
        download = mock.get(ATTACHMENT).mock(
            return_value=httpx.Response(200, content=SOURCE, headers={"content-type": "image/jpeg"})
        )
        edit = mock.post(target).mock(return_value=answer(IMG_A))
        result = await provider.submit(
            req("img-gpt-image-1-edit", ratio="", n=1, urls=(ATTACHMENT,))
        )
    # The attachment comes from our own store: the Azure key must not travel there.
    assert "api-key" not in download.calls.last.request.headers
    sent = edit.calls.last.request
    assert str(sent.url) == target
    assert sent.headers["api-key"] == KEY
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    parts = parse_multipart(sent)
    names = [p.get_param("name", header="content-disposition") for p in parts]
    assert sorted(names) == ["image", "n", "prompt", "size"]
    fields = {
        p.get_param("name", header="content-disposition"): p.get_payload(decode=True) for p in parts
    }
    assert fields["prompt"] == b"a cat in a hat"
    assert fields["n"] == b"1"
    assert fields["size"] == b"1024x1024"
    image = next(p for p in parts if p.get_param("name", header="content-disposition") == "image")
    assert image.get_filename() == "cat.jpg"
    assert image.get_content_type() == "image/jpeg"
    assert image.get_payload(decode=True) == SOURCE
    assert [i.data for i in result.images] == [IMG_A]


async def test_edit_without_attachment_is_refused_before_any_request() -> None:
    provider = AzureProvider(KEY, BASE, None)
    with respx.mock() as mock:
        with pytest.raises(ProviderError) as info:
            await provider.submit(req("img-gpt-image-1-edit", ratio=""))
        assert not mock.calls
    assert info.value.status == 400


async def test_unreadable_attachment_is_a_clear_error() -> None:
    provider = AzureProvider(KEY, BASE, None)
    with respx.mock(assert_all_called=False) as mock:
        mock.get(ATTACHMENT).mock(return_value=httpx.Response(404))
        edit = mock.post(EDITS)
        with pytest.raises(ProviderError) as info:
            await provider.submit(req("img-gpt-image-1-edit", ratio="", urls=(ATTACHMENT,)))
    assert info.value.message == "We could not read the attached image. Please attach it again."
    assert edit.call_count == 0


@pytest.mark.parametrize(
    ("answer_", "message", "code"),
    [
        (
            httpx.Response(
                400,
                json={
                    "error": {
                        "code": "content_policy_violation",
                        "message": "Your request was rejected by the safety system.",
                    }
                },
            ),
            "The provider refused this prompt under its content policy.",
            "content_policy",
        ),
        (
            httpx.Response(
                400,
                json={"error": {"code": "moderation_blocked", "message": "Blocked."}},
            ),
            "The provider refused this prompt under its content policy.",
            "content_policy",
        ),
        (
            httpx.Response(
                400,
                json={"error": {"code": "invalid_value", "message": "Invalid size '7x7'."}},
            ),
            "The provider rejected the request: Invalid size '7x7'.",
            "provider_rejected",
        ),
        (
            httpx.Response(500, json={"error": {"code": "server_error", "message": "oops"}}),
            "The provider is unavailable right now. Please try again.",
            "provider_unavailable",
        ),
        (
            httpx.Response(429, json={"error": {"code": "429", "message": "Rate limit"}}),
            "The provider is busy right now. Please try again in a moment.",
            "provider_busy",
        ),
        (
            httpx.ConnectError("refused"),
            "The provider is unavailable right now. Please try again.",
            "provider_unavailable",
        ),
        (
            httpx.ReadTimeout("slow"),
            "The provider took too long to answer.",
            "provider_timeout",
        ),
        (
            httpx.Response(200, json={"data": []}),
            "The provider finished but returned no images.",
            "provider_no_images",
        ),
    ],
    ids=["policy", "moderation", "400", "500", "429", "connect", "timeout", "empty"],
)
async def test_errors_are_mapped(answer_: object, message: str, code: str) -> None:
    provider = AzureProvider(KEY, BASE, None)
    with respx.mock() as mock:
        route = mock.post(BASE)
        if isinstance(answer_, Exception):
            route.mock(side_effect=answer_)
        else:
            route.mock(return_value=answer_)
        with pytest.raises(ProviderError) as info:
            await provider.submit(req("img-gpt-image-1"))
    assert (info.value.message, info.value.code) == (message, code)


async def test_status_is_never_queued() -> None:
    model = get_model("img-gpt-image-1")
    assert model is not None
    with pytest.raises(ProviderError) as info:
        await AzureProvider(KEY, BASE, None).status(model, "anything")
    assert info.value.status == 400


async def test_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    provider = AzureProvider(KEY, BASE, None)
    assert KEY not in repr(provider)
    caplog.set_level(logging.DEBUG)
    body = {"error": {"code": "invalid", "message": f"api-key {KEY} is not valid for {BASE}"}}
    with respx.mock() as mock:
        mock.post(BASE).mock(return_value=httpx.Response(400, json=body))
        with pytest.raises(ProviderError) as info:
            await provider.submit(req("img-gpt-image-1"))
    assert KEY not in info.value.message and KEY not in caplog.text
    assert "api-version" not in info.value.message
