"""One pure payload builder per model: the seed's model matrix, corrected by Fal's schemas.

Every Fal body follows the endpoint's published input schema (vendored, with its source, in
``tests/data/fal_schemas/``; ``tests/unit/test_fal_payload_contract.py`` validates every
option combination against it). Where the seed's matrix and the schema disagree the schema
wins, and ``backend/providers/differences.py`` says why. Endpoints that answer one image per
call (Flux 2 Max, Wan 2.2) get no ``num_images``: ``fanout.py`` makes one call per image.

``build_payload(request)`` returns ``(endpoint, body)``: for Fal the endpoint id and the
``input`` dict (fal-client posts it as the JSON body of ``queue.fal.run/<endpoint>``; the
seed's ``{input, logs: true}`` wrapper is the JS client's spelling of the same call), for
Wavespeed the full URL and JSON body, for Azure the env-var name of the URL and the form
fields. Builders do no I/O, so docs/providers.md and the tests can run them freely.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend.providers.base import ProviderRequest
from catalog.sizes import FAL_PRESET_FOR_RATIO

Body = dict[str, Any]
Builder = Callable[[ProviderRequest], tuple[str, Body]]

WAVESPEED_IMAGEN3_URL = "https://api.wavespeed.ai/api/v3/google/imagen3"

# Fal's `image_size` enum for the standard ratios (Seedream v4.5, Flux 2 Max, Hunyuan,
# Wan): the catalog's table, which also gives the local provider the preset's pixels.
FAL_IMAGE_SIZE_ENUM: dict[str, str] = FAL_PRESET_FOR_RATIO
# GPT-Image sizes (Fal's GPT-Image 1.5 `image_size` and Azure's `size`).
GPT_IMAGE_SIZES: dict[str, str] = {
    "1:1": "1024x1024",
    "4:3": "1536x1024",
    "3:4": "1024x1536",
}
MAX_REFERENCE_IMAGES = 10
# fal-ai/reve/remix: "Must provide between 1 and 6 images (inclusive)".
REVE_REMIX_MAX_REFERENCES = 6
KLING_MAX_IMAGES = 4
# Wavespeed google/imagen3 `num_images`: "1 ~ 4", default 1 (differences.WAVESPEED_IMAGEN3).
WAVESPEED_MIN_IMAGES = 1
WAVESPEED_MAX_IMAGES = 4
# Hunyuan 2.1 defaults the web route adds (the model's recommended settings).
HUNYUAN_V21_DEFAULTS: Body = {
    "negative_prompt": "blurry, low quality, distorted, watermark, text artifacts",
    "num_inference_steps": 28,
    "guidance_scale": 3.5,
}


def _enum_size(ratio: str) -> str:
    return FAL_IMAGE_SIZE_ENUM.get(ratio, "square_hd")


def _gpt_size(ratio: str) -> str:
    return GPT_IMAGE_SIZES.get(ratio, "1024x1024")


def _urls(request: ProviderRequest, limit: int = MAX_REFERENCE_IMAGES) -> list[str]:
    return list(request.attachment_urls[:limit])


def _default(request: ProviderRequest) -> Body:
    """The default Fal payload every model starts from: ``{prompt, aspect_ratio, num_images}``."""
    return {
        "prompt": request.prompt,
        "aspect_ratio": request.aspect_ratio,
        "num_images": request.num_images,
    }


# --- Fal -------------------------------------------------------------------------------


def imagen4(r: ProviderRequest) -> tuple[str, Body]:
    return r.model.endpoint, _default(r)


def nano_banana(r: ProviderRequest) -> tuple[str, Body]:
    return r.model.endpoint, _default(r)


def nano_banana_edit(r: ProviderRequest) -> tuple[str, Body]:
    return r.model.endpoint, {
        "prompt": r.prompt,
        "image_urls": _urls(r),
        "aspect_ratio": r.aspect_ratio,
        "num_images": r.num_images,
    }


def nano_banana_pro(r: ProviderRequest) -> tuple[str, Body]:
    body = _default(r)
    body["resolution"] = r.resolution or r.model.default_resolution
    return r.model.endpoint, body


def nano_banana_pro_edit(r: ProviderRequest) -> tuple[str, Body]:
    _, body = nano_banana_edit(r)
    body["resolution"] = r.resolution or r.model.default_resolution
    return r.model.endpoint, body


def _seedream_v4_size(r: ProviderRequest) -> Body:
    # The web's getSeedreamImageSize(): explicit pixels, the same ones the local provider
    # renders, so both backends agree on the output size.
    from catalog.sizes import output_size

    width, height = output_size(r.model.id, r.aspect_ratio, r.resolution)
    return {"width": width, "height": height}


def seedream_v4(r: ProviderRequest) -> tuple[str, Body]:
    return r.model.endpoint, {
        "prompt": r.prompt,
        "image_size": _seedream_v4_size(r),
        "num_images": r.num_images,
    }


def seedream_v4_edit(r: ProviderRequest) -> tuple[str, Body]:
    return r.model.endpoint, {
        "prompt": r.prompt,
        "image_urls": _urls(r),
        "image_size": _seedream_v4_size(r),
        "num_images": r.num_images,
        "sync_mode": False,
    }


def seedream_v45(r: ProviderRequest) -> tuple[str, Body]:
    return r.model.endpoint, {
        "prompt": r.prompt,
        "image_size": _enum_size(r.aspect_ratio),
        "num_images": r.num_images,
        # `num_images` generations of up to `max_images` images each: 1 keeps the total at
        # exactly `num_images` (the seed's max_images = num_images asked for up to N x N).
        "max_images": 1,
    }


def seedream_v45_edit(r: ProviderRequest) -> tuple[str, Body]:
    _, body = seedream_v45(r)
    body["image_urls"] = _urls(r)
    body["sync_mode"] = False
    return r.model.endpoint, body


def flux_kontext_pro(r: ProviderRequest) -> tuple[str, Body]:
    return r.model.endpoint, {
        "prompt": r.prompt,
        # Exactly one reference image is used, even if more slipped through.
        "image_url": r.attachment_urls[0] if r.attachment_urls else None,
        "aspect_ratio": r.aspect_ratio,
        "num_images": r.num_images,
        "guidance_scale": 6.5,
        # The seed's num_inference_steps: 28 is not an input of fal-ai/flux-pro/kontext.
    }


def gpt_image_15(r: ProviderRequest) -> tuple[str, Body]:
    return r.model.endpoint, {
        "prompt": r.prompt,
        "image_size": _gpt_size(r.aspect_ratio),
        "quality": r.quality or r.model.default_quality,
        "num_images": r.num_images,
    }


def gpt_image_15_edit(r: ProviderRequest) -> tuple[str, Body]:
    return r.model.endpoint, {
        "prompt": r.prompt,
        "image_urls": _urls(r),
        # No ratio chosen: let the model keep the reference image's shape.
        "image_size": _gpt_size(r.aspect_ratio) if r.aspect_ratio else "auto",
        "quality": r.quality or r.model.default_quality,
        "num_images": r.num_images,
    }


def _sized(r: ProviderRequest) -> Body:
    """``{prompt, num_images, image_size}``: for endpoints with no ``aspect_ratio`` input."""
    return {
        "prompt": r.prompt,
        "num_images": r.num_images,
        "image_size": _enum_size(r.aspect_ratio),
    }


def hunyuan_v21(r: ProviderRequest) -> tuple[str, Body]:
    # Hunyuan takes its shape from `image_size` only; it has no `aspect_ratio` input.
    body = _sized(r)
    body.update(HUNYUAN_V21_DEFAULTS)
    return r.model.endpoint, body


def hunyuan_v3(r: ProviderRequest) -> tuple[str, Body]:
    body = _sized(r)
    # Base64 data URIs in the answer: no second fetch from Fal's CDN.
    body["sync_mode"] = True
    return r.model.endpoint, body


def wan_v22(r: ProviderRequest) -> tuple[str, Body]:
    # No `num_images` and no `aspect_ratio`: one image (`image`, not `images`) per call,
    # shaped by `image_size`; fanout.py calls it once per requested image.
    return r.model.endpoint, {"prompt": r.prompt, "image_size": _enum_size(r.aspect_ratio)}


def reve(r: ProviderRequest) -> tuple[str, Body]:
    body = _default(r)
    body["sync_mode"] = True
    return r.model.endpoint, body


def reve_edit(r: ProviderRequest) -> tuple[str, Body]:
    if len(r.attachment_urls) >= 2:
        return r.model.alt_endpoints.get("remix", "fal-ai/reve/remix"), {
            "prompt": r.prompt,
            "image_urls": _urls(r, REVE_REMIX_MAX_REFERENCES),
            "aspect_ratio": r.aspect_ratio,
            "num_images": r.num_images,
            "sync_mode": True,
        }
    return r.model.endpoint, {
        "prompt": r.prompt,
        "image_url": r.attachment_urls[0] if r.attachment_urls else None,
        "num_images": r.num_images,
        "sync_mode": True,
    }


def kling_o1(r: ProviderRequest) -> tuple[str, Body]:
    return r.model.endpoint, {
        "prompt": r.prompt,
        "image_urls": _urls(r),
        "aspect_ratio": r.aspect_ratio,
        "resolution": r.resolution or r.model.default_resolution,
        "num_images": min(r.num_images, KLING_MAX_IMAGES),
    }


def flux_2_max(r: ProviderRequest) -> tuple[str, Body]:
    # No `num_images`: one image per call; fanout.py calls it once per requested image.
    return r.model.endpoint, {
        "prompt": r.prompt,
        "image_size": _enum_size(r.aspect_ratio),
        "output_format": "jpeg",
    }


def flux_2_max_edit(r: ProviderRequest) -> tuple[str, Body]:
    _, body = flux_2_max(r)
    body["image_urls"] = _urls(r)
    return r.model.endpoint, body


# --- Wavespeed -------------------------------------------------------------------------


def imagen3(r: ProviderRequest) -> tuple[str, Body]:
    # Wavespeed's documented body (https://wavespeed.ai/docs/docs-api/google/google-imagen3):
    # `prompt` (required), `aspect_ratio` (1:1, 16:9, 9:16, 4:3, 3:4: the catalog offers just
    # these), `num_images` 1 ~ 4 (one call answers all of them in `outputs`). The optional
    # `negative_prompt`, `seed` and `enable_base64_output` (default false: URLs) are not sent.
    count = max(WAVESPEED_MIN_IMAGES, min(r.num_images, WAVESPEED_MAX_IMAGES))
    return WAVESPEED_IMAGEN3_URL, {
        "prompt": r.prompt,
        "aspect_ratio": r.aspect_ratio,
        "num_images": count,
    }


# --- Azure -----------------------------------------------------------------------------
# Microsoft's GPT-Image 1 how-to (differences.AZURE_IMAGE_HOWTO): `size` 1024x1024,
# 1024x1536 or 1536x1024; `quality` low, medium or high (default high); `n` 1 to 10. The
# deployment is in the URL, so no `model` field is sent; GPT-Image 1 always answers
# `b64_json`, so no `response_format` either.


def gpt_image_1(r: ProviderRequest) -> tuple[str, Body]:
    body: Body = {"prompt": r.prompt, "size": _gpt_size(r.aspect_ratio), "n": r.num_images}
    if r.quality:
        body["quality"] = r.quality
    return r.model.endpoint, body


def gpt_image_1_edit(r: ProviderRequest) -> tuple[str, Body]:
    # Form fields of the multipart request; the one `image` file (PNG or JPEG) is added by
    # the provider. No ratio reaches the edit: `size` is the square 1024x1024.
    return r.model.endpoint, {
        "prompt": r.prompt,
        "n": r.num_images,
        "size": _gpt_size(r.aspect_ratio),
    }


BUILDERS: dict[str, Builder] = {
    "img-imagen4-preview": imagen4,
    "img-imagen3": imagen3,
    "img-nano-banana": nano_banana,
    "img-nano-banana-edit": nano_banana_edit,
    "img-nano-banana-pro": nano_banana_pro,
    "img-nano-banana-pro-edit": nano_banana_pro_edit,
    "img-seedream-v4": seedream_v4,
    "img-seedream-v4-edit": seedream_v4_edit,
    "img-seedream-v45": seedream_v45,
    "img-seedream-v45-edit": seedream_v45_edit,
    "img-flux-kontext-pro": flux_kontext_pro,
    "img-gpt-image-1": gpt_image_1,
    "img-gpt-image-1-edit": gpt_image_1_edit,
    "img-gpt-image-1-5": gpt_image_15,
    "img-gpt-image-1-5-edit": gpt_image_15_edit,
    "img-hunyuan-v21": hunyuan_v21,
    "img-hunyuan-v3": hunyuan_v3,
    "img-wan-v22-a14b": wan_v22,
    "img-reve": reve,
    "img-reve-edit": reve_edit,
    "img-kling-o1": kling_o1,
    "img-flux-2-max": flux_2_max,
    "img-flux-2-max-edit": flux_2_max_edit,
}


def build_payload(request: ProviderRequest) -> tuple[str, Body]:
    """The endpoint and body for ``request``; unknown models fall back to the default."""
    builder = BUILDERS.get(request.model.id)
    if builder is None:
        return request.model.endpoint, _default(request)
    return builder(request)


def fal_call(request: ProviderRequest) -> tuple[str, Body]:
    """The seed's spelling of a Fal call: ``(endpoint, {"input": {...}, "logs": True})``."""
    endpoint, body = build_payload(request)
    return endpoint, {"input": body, "logs": True}
