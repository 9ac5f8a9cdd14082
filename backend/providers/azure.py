"""Azure OpenAI GPT-Image 1: JSON generations and multipart edits, base64 answers.

Pinned to Microsoft's documentation (``AZURE_IMAGE_HOWTO``, ``AZURE_IMAGE_REFERENCE`` and
``AZURE_IMAGE_QUICKSTART`` in ``differences.py``): ``POST https://<resource>.openai.azure.com
/openai/deployments/<deployment>/images/generations?api-version=<version>`` with the
``api-key`` header and a JSON body (``prompt``, ``n`` 1-10, ``size`` 1024x1024 / 1536x1024 /
1024x1536, optional ``quality`` low / medium / high); the edit is the same URL ending in
``/images/edits``, ``multipart/form-data`` with the ``image`` file ("a png, or jpg file less
than 50MB") and the same fields. Both are sync: GPT-Image 1 always answers base64,
``data[].b64_json`` (``response_format`` is not supported, so it is not sent).

Generations go to ``AZURE_BASE_URL`` (that full deployment URL with its ``api-version``);
edits go to ``AZURE_IMAGE_EDITS_URL`` or, when unset, the base URL with
``/images/generations`` replaced by ``/images/edits``. The edit's one reference image is
fetched from our own store (the route layer has already checked the URL); a WebP or GIF
reference is refused here, before Azure is called, since Azure takes only PNG and JPEG.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from typing import Any
from urllib.parse import urlsplit

import httpx

from backend.providers import errors_map
from backend.providers.base import JobState, ProviderError, ProviderRequest, SubmitResult
from backend.providers.outputs import b64_json_images
from backend.providers.payloads import build_payload
from backend.store.base import sniff_image_type
from catalog import ModelSpec

log = logging.getLogger(__name__)

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024  # Azure allows < 50 MB; our uploads stop at 20 MB
ATTACHMENT_UNREADABLE = "We could not read the attached image. Please attach it again."
# The edit's input image "must be a PNG or JPG file" (AZURE_IMAGE_HOWTO).
EDIT_IMAGE_TYPES = ("image/png", "image/jpeg")


def derive_edits_url(base_url: str) -> str:
    return base_url.replace("/images/generations", "/images/edits")


class AzureProvider:
    name = "azure"

    def __init__(
        self,
        api_key: str,
        base_url: str,
        edits_url: str | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 180.0,
    ) -> None:
        self._key = api_key
        self.base_url = base_url
        self.edits_url = edits_url or derive_edits_url(base_url)
        self._own_client = client is None
        self._http = client or httpx.AsyncClient(timeout=timeout_s)
        # httpx's timeout is per phase; this bounds the whole call (attachment read, upload,
        # answer), so it stays inside the server's sync deadline (``provider_sync_timeout_s``).
        self._total_s = timeout_s
        for url in (self.base_url, self.edits_url):
            if "api-version=" not in url:
                # Azure requires the query parameter; without it every call fails.
                log.warning("an Azure image URL has no api-version query parameter")

    def __repr__(self) -> str:  # never show the key
        return "AzureProvider(api_key=[redacted])"

    async def submit(self, request: ProviderRequest) -> SubmitResult:
        try:
            async with asyncio.timeout(self._total_s):
                return await self._submit(request)
        except TimeoutError:
            log.warning("azure request passed its %g s deadline", self._total_s)
            raise errors_map.timed_out() from None

    async def _submit(self, request: ProviderRequest) -> SubmitResult:
        _, fields = build_payload(request)
        headers = {"api-key": self._key}
        if request.model.attachments.required:
            if not request.attachment_urls:
                raise ProviderError(
                    "GPT-Image 1 Edit needs exactly one attached image.",
                    code="invalid_request",
                    status=400,
                )
            name, content, content_type = await self._download(request.attachment_urls[0])
            if content_type not in EDIT_IMAGE_TYPES:
                kind = content_type.removeprefix("image/").upper()
                raise ProviderError(
                    f"{request.model.label} takes a PNG or JPEG image, not {kind}. "
                    "Please attach a PNG or JPEG.",
                    code="attachment_unsupported_type",
                    status=400,
                )
            form = {key: str(value) for key, value in fields.items()}
            response = await self._post(
                self.edits_url,
                headers=headers,
                data=form,
                files={"image": (name, content, content_type)},
            )
        else:
            response = await self._post(self.base_url, headers=headers, json=fields)
        try:
            body = response.json()
        except ValueError:
            raise errors_map.unavailable() from None
        data = body.get("data") if isinstance(body, dict) else None
        return SubmitResult(images=b64_json_images(data))

    async def status(self, model: ModelSpec, job_id: str) -> JobState:
        # Azure answers at once; there is never a job to ask about.
        raise ProviderError(
            f"{model.label} answers at once and has no queued job to check.",
            code="invalid_request_id",
            status=400,
        )

    async def aclose(self) -> None:
        if self._own_client:
            await self._http.aclose()

    async def _post(self, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.post(url, **kwargs)
        except httpx.HTTPError as exc:
            log.warning("azure request failed: %s", type(exc).__name__)
            raise errors_map.from_exception(exc) from None
        if response.status_code >= 400:
            error = errors_map.from_response(response, [self._key])
            log.warning("azure answered %s: %s", response.status_code, error.message)
            raise error
        return response

    async def _download(self, url: str) -> tuple[str, bytes, str]:
        """The attachment's (file name, bytes, content type), read from our object store."""
        try:
            async with self._http.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise ProviderError(
                        ATTACHMENT_UNREADABLE, code="attachment_unreadable", status=400
                    )
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_ATTACHMENT_BYTES:
                        raise ProviderError(
                            "The attached image is too large to send to the provider.",
                            code="attachment_too_large",
                            status=413,
                        )
                    chunks.append(chunk)
                header_type = response.headers.get("content-type", "").split(";")[0].strip()
        except httpx.HTTPError as exc:
            log.warning("azure attachment download failed: %s", type(exc).__name__)
            raise ProviderError(
                ATTACHMENT_UNREADABLE, code="attachment_unreadable", status=400
            ) from None
        path = urlsplit(url).path
        name = path.rsplit("/", 1)[-1] or "image.png"
        content = b"".join(chunks)
        guessed = mimetypes.guess_type(name)[0]
        declared = header_type if header_type.startswith("image/") else guessed or "image/png"
        # What the bytes really are wins over what the store or the name says.
        content_type = sniff_image_type(content) or declared
        if "." not in name:
            name += mimetypes.guess_extension(content_type) or ".png"
        return name, content, content_type
