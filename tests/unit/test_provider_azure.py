"""AzureProvider (GPT-Image 1 and its edit) at the HTTP layer.

Pinned to Microsoft's documentation: the GPT-Image 1 how-to (``HOWTO``), the REST reference
of api-version 2025-04-01-preview (``REFERENCE``) and the REST quickstart (``QUICKSTART``).
Generations: ``POST https://<resource>.openai.azure.com/openai/deployments/<deployment>/
images/generations?api-version=<version>``, header ``api-key``, JSON ``{prompt, size, n,
quality?}``; edits: the same URL ending in ``/images/edits``, ``multipart/form-data`` with
the ``image`` file (PNG or JPG, < 50 MB) and the ``prompt``, ``n``, ``size`` fields; both
answer ``{created, data: [{b64_json}]}``.
"""

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
from backend.providers.differences import AZURE_IMAGE_HOWTO as HOWTO
from backend.providers.differences import AZURE_IMAGE_QUICKSTART as QUICKSTART
from backend.providers.differences import AZURE_IMAGE_REFERENCE as REFERENCE
from catalog import get_model

assert HOWTO == "https://learn.microsoft.com/en-us/azure/ai-foundry/openai/how-to/dall-e"
assert REFERENCE.startswith("https://learn.microsoft.com/en-us/azure/ai-foundry/openai/")
assert QUICKSTART.startswith("https://learn.microsoft.com/en-us/azure/ai-foundry/openai/")
# HOWTO: "Must be one of 1024x1024, 1024x1536, or 1536x1024"; quality low, medium, high.
DOC_SIZES = ("1024x1024", "1024x1536", "1536x1024")
DOC_QUALITIES = ("low", "medium", "high")
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
PNG_SOURCE = b"\x89PNG\r\n\x1a\n-png-source-bytes"
WEBP_SOURCE = b"RIFF\x00\x00\x00\x00WEBPVP8 -webp-source"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def answer(*images: bytes) -> httpx.Response:
    return httpx.Response(200, json={"created": 1, "data": [{"b64_json": b64(i)} for i in images]})


def req(
    model_id: str,
    ratio: str = "1:1",
    n: int = 1,
    urls: tuple[str, ...] = (),
    quality: str | None = None,
) -> ProviderRequest:
    model = get_model(model_id)
    assert model is not None
    return ProviderRequest(
        prompt="a cat in a hat",
        model=model,
        aspect_ratio=ratio,
        num_images=n,
        attachment_urls=urls,
        quality=quality,
    )


def parse_multipart(request: httpx.Request) -> list[Message]:
    raw = b"Content-Type: " + request.headers["content-type"].encode() + b"\r\n\r\n"
    msg = email.message_from_bytes(raw + request.content, policy=email.policy.HTTP)
    return list(msg.iter_parts())  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("ratio", "size"), [("1:1", "1024x1024"), ("4:3", "1536x1024"), ("3:4", "1024x1536")]
)
async def test_generation_sends_exact_request(ratio: str, size: str) -> None:
    # HOWTO "Call the image generation API": POST .../images/generations?api-version=...,
    # headers Content-Type: application/json and api-key; body prompt, size, n.
    assert size in DOC_SIZES
    provider = AzureProvider(KEY, BASE, None)
    with respx.mock() as mock:
        route = mock.post(BASE).mock(return_value=answer(IMG_A, IMG_B))
        result = await provider.submit(req("img-gpt-image-1", ratio=ratio, n=2))
    sent = route.calls.last.request
    assert sent.method == "POST"
    assert str(sent.url) == BASE
    assert sent.url.params["api-version"] == "2025-04-01-preview"
    assert sent.headers["api-key"] == KEY
    assert sent.headers["content-type"] == "application/json"
    assert "authorization" not in sent.headers
    assert json.loads(sent.content) == {"prompt": "a cat in a hat", "size": size, "n": 2}
    assert not result.queued
    assert [i.data for i in result.images] == [IMG_A, IMG_B]
    assert all(i.url is None for i in result.images)
    await provider.aclose()


@pytest.mark.parametrize("quality", DOC_QUALITIES)
async def test_generation_sends_a_given_quality(quality: str) -> None:
    # HOWTO "Quality": low, medium, high (default high); sent only when one is chosen.
    provider = AzureProvider(KEY, BASE, None)
    with respx.mock() as mock:
        route = mock.post(BASE).mock(return_value=answer(IMG_A))
        await provider.submit(req("img-gpt-image-1", ratio="4:3", n=1, quality=quality))
    assert json.loads(route.calls.last.request.content) == {
        "prompt": "a cat in a hat",
        "size": "1536x1024",
        "n": 1,
        "quality": quality,
    }


def test_catalog_stays_within_the_documented_range() -> None:
    # HOWTO "Number": 1 to 10 images per call, so one call answers all of them.
    for model_id in ("img-gpt-image-1", "img-gpt-image-1-edit"):
        model = get_model(model_id)
        assert model is not None
        assert 1 <= model.max_images <= 10 and model.images_per_call is None


def test_edits_url_is_derived_from_base_url() -> None:
    assert derive_edits_url(BASE) == EDITS
    assert AzureProvider(KEY, BASE, None).edits_url == EDITS
    assert AzureProvider(KEY, BASE, "https://other.test/edits").edits_url == (
        "https://other.test/edits"
    )


@pytest.mark.parametrize("explicit", [None, "https://edits.example.test/images/edits?v=1"])
async def test_edit_is_multipart_with_exactly_one_image(explicit: str | None) -> None:
    # QUICKSTART (GPT-image-1, REST): POST .../images/edits?api-version=..., header Api-Key,
    # multipart data prompt, n, size and the file "image"; REFERENCE: `image` is "a png, or
    # jpg file less than 50MB".
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


async def test_edit_sends_the_real_type_of_the_bytes() -> None:
    # A PNG the store serves as octet-stream under a .jpg name still goes as image/png.
    provider = AzureProvider(KEY, BASE, None)
    with respx.mock() as mock:
        mock.get(ATTACHMENT).mock(
            return_value=httpx.Response(
                200, content=PNG_SOURCE, headers={"content-type": "application/octet-stream"}
            )
        )
        edit = mock.post(EDITS).mock(return_value=answer(IMG_A))
        await provider.submit(req("img-gpt-image-1-edit", ratio="", urls=(ATTACHMENT,)))
    parts = parse_multipart(edit.calls.last.request)
    image = next(p for p in parts if p.get_param("name", header="content-disposition") == "image")
    assert image.get_content_type() == "image/png"
    assert image.get_payload(decode=True) == PNG_SOURCE


@pytest.mark.parametrize("declared", ["image/webp", "image/jpeg"])
async def test_edit_refuses_a_webp_reference_before_calling_azure(declared: str) -> None:
    # HOWTO "Call the image edit API": the input image "must be a PNG or JPG file".
    provider = AzureProvider(KEY, BASE, None)
    with respx.mock(assert_all_called=False) as mock:
        mock.get(ATTACHMENT).mock(
            return_value=httpx.Response(
                200, content=WEBP_SOURCE, headers={"content-type": declared}
            )
        )
        edit = mock.post(EDITS)
        with pytest.raises(ProviderError) as info:
            await provider.submit(req("img-gpt-image-1-edit", ratio="", urls=(ATTACHMENT,)))
    assert edit.call_count == 0
    assert (info.value.status, info.value.code) == (400, "attachment_unsupported_type")
    assert info.value.message == (
        "GPT-Image 1 Edit takes a PNG or JPEG image, not WEBP. Please attach a PNG or JPEG."
    )


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
