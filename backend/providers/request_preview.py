"""The provider request a generation would send, described without sending it.

The preview route (``routes/preview.py``) answers this for the model sheet's "request
preview". It is built by the very payload builders the providers call (``payloads.py``), so
what a user sees is what Fal, Wavespeed or Azure would receive. Pure: no I/O, no keys, no
headers. Where the deployment's URL is configuration (Azure), the variable that holds it is
shown instead of its value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import fal_client.client as fal_http

from backend.providers.base import ProviderRequest
from backend.providers.fanout import call_plan
from backend.providers.payloads import build_payload

ContentType = Literal["application/json", "multipart/form-data"]


@dataclass(frozen=True)
class RequestPreview:
    provider: str
    endpoint: str
    method: str
    url: str
    content_type: ContentType
    body: dict[str, Any]
    calls: int
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "endpoint": self.endpoint,
            "method": self.method,
            "url": self.url,
            "contentType": self.content_type,
            "body": self.body,
            "calls": self.calls,
            "notes": list(self.notes),
        }


def _azure(request: ProviderRequest, endpoint: str, body: dict[str, Any]) -> RequestPreview:
    notes = ["The deployment URL comes from the server's environment, so its name is shown."]
    content_type: ContentType = "application/json"
    if request.model.attachments.required:
        # Azure's edit is multipart: these fields plus the reference as the `image` file,
        # which the server reads from our store.
        content_type = "multipart/form-data"
        body = {**body, "image": request.attachment_urls[0] if request.attachment_urls else None}
        notes.append("`image` is sent as the file at this URL, read from our store.")
    return RequestPreview(
        provider="azure",
        endpoint=endpoint,
        method="POST",
        url="${" + endpoint + "}",
        content_type=content_type,
        body=body,
        calls=1,
        notes=tuple(notes),
    )


def preview_request(request: ProviderRequest, served_by: str) -> RequestPreview:
    """What the model's provider would be sent for ``request``; ``served_by`` is the name of
    the provider that would really run it here ("local" when no key is configured)."""
    plan = call_plan(request.model, request.num_images)
    if len(plan) > 1:
        # One call per image (fanout.py): each call carries the first call's body.
        request = replace(request, num_images=plan[0])
    endpoint, body = build_payload(request)
    provider = request.model.provider
    if provider == "azure":
        preview = _azure(request, endpoint, body)
    elif provider == "wavespeed":
        preview = RequestPreview(
            provider, endpoint, "POST", endpoint, "application/json", body, len(plan), ()
        )
    else:
        notes = (
            "Sent once to Fal's queue; the result is read when the job ends.",
            "References Fal cannot reach are copied to Fal's storage first.",
        )
        url = fal_http.QUEUE_URL_FORMAT + endpoint
        preview = RequestPreview(
            provider, endpoint, "POST", url, "application/json", body, len(plan), notes
        )
    extra: list[str] = []
    if len(plan) > 1:
        extra.append(f"This endpoint answers one image per call: {len(plan)} calls are made.")
    if served_by != provider:
        extra.append(
            f"No {provider} key is configured here: the local provider renders the images "
            "from this same request."
        )
    if not extra:
        return preview
    return replace(preview, notes=(*preview.notes, *extra))
