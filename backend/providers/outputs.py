"""Read output images out of provider answers: URLs, data URIs and raw base64.

Sync-mode models (Hunyuan 3, Reve) and Azure answer with the image bytes themselves; we
decode them here so the route layer only ever rehosts ``ProviderImage.url`` or ``.data``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from backend.providers.base import ProviderError, ProviderImage

NO_IMAGES = "The provider finished but returned no images."
UNREADABLE = "The provider returned an image we could not read."


def decode_base64(data: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProviderError(UNREADABLE, code="provider_bad_output") from exc


def decode_data_uri(uri: str) -> tuple[bytes, str]:
    """``data:image/png;base64,AAAA`` -> (bytes, "image/png")."""
    header, sep, payload = uri.partition(",")
    if not sep or not header.lower().startswith("data:") or ";base64" not in header.lower():
        raise ProviderError(UNREADABLE, code="provider_bad_output")
    content_type = header[5:].split(";", 1)[0] or "image/png"
    return decode_base64(payload.strip()), content_type


def image_from_ref(ref: str, content_type: str | None = None) -> ProviderImage:
    """An image given as a URL or a data URI."""
    if ref.startswith("data:"):
        data, found_type = decode_data_uri(ref)
        return ProviderImage(data=data, content_type=found_type)
    return ProviderImage(url=ref, content_type=content_type or "image/png")


def fal_images(result: Any) -> tuple[ProviderImage, ...]:
    """Images from a Fal result: ``{"images": [{url, content_type}]}`` or ``{"image": {...}}``."""
    if not isinstance(result, dict):
        raise ProviderError(NO_IMAGES, code="provider_no_images")
    items = result.get("images")
    if items is None and result.get("image") is not None:
        items = [result["image"]]
    images: list[ProviderImage] = []
    for item in items or []:
        if isinstance(item, str):
            images.append(image_from_ref(item))
        elif isinstance(item, dict) and isinstance(item.get("url"), str):
            images.append(image_from_ref(item["url"], item.get("content_type")))
    if not images:
        raise ProviderError(NO_IMAGES, code="provider_no_images")
    return tuple(images)


def url_list_images(outputs: Any) -> tuple[ProviderImage, ...]:
    """Wavespeed's ``outputs``: a list of URLs (or data URIs)."""
    images = tuple(image_from_ref(o) for o in outputs or [] if isinstance(o, str) and o)
    if not images:
        raise ProviderError(NO_IMAGES, code="provider_no_images")
    return images


def b64_json_images(data: Any) -> tuple[ProviderImage, ...]:
    """Azure/OpenAI's ``data: [{b64_json}]`` (a ``url`` entry is accepted too)."""
    images: list[ProviderImage] = []
    for item in data or []:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("b64_json"), str):
            images.append(ProviderImage(data=decode_base64(item["b64_json"])))
        elif isinstance(item.get("url"), str):
            images.append(image_from_ref(item["url"]))
    if not images:
        raise ProviderError(NO_IMAGES, code="provider_no_images")
    return tuple(images)
