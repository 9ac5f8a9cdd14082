"""Azure OpenAI GPT-Image 1: JSON generations and multipart edits, base64 answers.

Generations go to ``AZURE_BASE_URL`` (a full deployment URL with its ``api-version``);
edits go to ``AZURE_IMAGE_EDITS_URL`` or, when unset, the base URL with
``/images/generations`` replaced by ``/images/edits``. Both are sync: the answer carries the
images as ``data[].b64_json``. The edit's one reference image is fetched from our own store
(the route layer has already checked the URL) and uploaded as the ``image`` file.
"""

from __future__ import annotations

import logging
import mimetypes
from typing import Any
from urllib.parse import urlsplit

import httpx

from backend.providers import errors_map
from backend.providers.base import JobState, ProviderError, ProviderRequest, SubmitResult
from backend.providers.outputs import b64_json_images
from backend.providers.payloads import build_payload
from catalog import ModelSpec

log = logging.getLogger(__name__)

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
ATTACHMENT_UNREADABLE = "We could not read the attached image. Please attach it again."


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

    def __repr__(self) -> str:  # never show the key
        return "AzureProvider(api_key=[redacted])"

    async def submit(self, request: ProviderRequest) -> SubmitResult:
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
        guessed = mimetypes.guess_type(name)[0]
        content_type = header_type if header_type.startswith("image/") else guessed or "image/png"
        if "." not in name:
            name += mimetypes.guess_extension(content_type) or ".png"
        return name, b"".join(chunks), content_type
