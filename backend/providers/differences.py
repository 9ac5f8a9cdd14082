"""Where we differ from the seed's model matrix, and why: one row per applied difference.

The seed's matrix (../shared/seed-plan.md) is not the providers' contract. Each row names
what the matrix said, what the provider documents, what we do, and the source: a URL, or a
repository path at a commit. `backend/providers/doc.py` renders the rows into
docs/providers.md. To add one, append a `Difference` to `DIFFERENCES` (payload differences
such as ``num_images`` / ``max_images`` belong here too).
"""

from __future__ import annotations

from dataclasses import dataclass

# Fal's published input schemas, vendored as JSON Schema in ../shared/provider-schemas/.
FAL_SCHEMAS = (
    "fal-ai/fal-js libs/client/src/types/image/zod.gen.ts "
    "@ 53241327a7e17ad9f964eb904a9769299cccaf58"
)
# Wavespeed's API page for google/imagen3: `prompt`, `aspect_ratio` (1:1, 16:9, 9:16, 4:3,
# 3:4), `num_images` (1 ~ 4, default 1), `negative_prompt`, `seed`, `enable_base64_output`;
# the result's `data.outputs` is the list of image URLs.
WAVESPEED_IMAGEN3 = "https://wavespeed.ai/docs/docs-api/google/google-imagen3"
# Microsoft's GPT-Image 1 how-to (sizes, quality, n 1-10, edits: PNG or JPG under 50 MB),
# the REST reference of api-version 2025-04-01-preview, and the REST quickstart.
AZURE_IMAGE_HOWTO = "https://learn.microsoft.com/en-us/azure/ai-foundry/openai/how-to/dall-e"
AZURE_IMAGE_REFERENCE = (
    "https://learn.microsoft.com/en-us/azure/ai-foundry/openai/reference-preview"
    "#image-generations---edit"
)
AZURE_IMAGE_QUICKSTART = (
    "https://learn.microsoft.com/en-us/azure/ai-foundry/openai/dall-e-quickstart?pivots=rest-api"
)
SEEDREAM_V45_WAVESPEED = "https://www.wavespeed.ai/docs/docs-api/bytedance/bytedance-seedream-v4.5"
GOOGLE_GEMINI_IMAGE = "https://ai.google.dev/gemini-api/docs/image-generation"
GOOGLE_IMAGEN4 = "https://cloud.google.com/vertex-ai/generative-ai/docs/models/imagen/4-0-generate"
GOOGLE_IMAGEN3 = (
    "https://cloud.google.com/vertex-ai/generative-ai/docs/models/imagen/3-0-generate-002"
)

# Gemini 2.5 Flash Image and Gemini 3 Pro Image, plain and edit: rows that hold for all four.
NANO_BANANA = (
    "img-nano-banana",
    "img-nano-banana-edit",
    "img-nano-banana-pro",
    "img-nano-banana-pro-edit",
)


@dataclass(frozen=True)
class Difference:
    models: tuple[str, ...]  # catalog model ids
    seed: str  # what the seed's matrix said (or left unsaid)
    provider: str  # what the provider documents
    ours: str  # what we do
    source: str  # a URL, or "owner/repo path @ commit"


DIFFERENCES: list[Difference] = [
    Difference(
        ("img-kling-o1",),
        "no prompt limit (we allowed 4,000 characters)",
        "`fal-ai/kling-image/o1`: `prompt` maxLength 2,500",
        "`validate` refuses prompts over 2,500 characters; the prompt bar counts to 2,500",
        FAL_SCHEMAS,
    ),
    Difference(
        ("img-reve", "img-reve-edit"),
        "no prompt limit (we allowed 4,000 characters)",
        "`fal-ai/reve/text-to-image`, `/edit`, `/remix`: `prompt` 1 to 2,560 characters",
        "`validate` refuses prompts over 2,560 characters; the prompt bar counts to 2,560",
        FAL_SCHEMAS,
    ),
    Difference(
        NANO_BANANA,
        "no prompt limit",
        "`fal-ai/gemini-25-flash-image(/edit)`, `fal-ai/nano-banana-pro(/edit)`: `prompt` "
        "3 to 50,000 characters",
        "`validate` refuses prompts under 3 characters (our 4,000 stays the maximum)",
        FAL_SCHEMAS,
    ),
    Difference(
        ("img-imagen4-preview",),
        "no prompt limit",
        "`fal-ai/imagen4/preview`: `prompt` 3 to 5,000 characters",
        "`validate` refuses prompts under 3 characters (our 4,000 stays the maximum)",
        FAL_SCHEMAS,
    ),
    Difference(
        ("img-gpt-image-1-5", "img-gpt-image-1-5-edit"),
        "no prompt limit",
        "`fal-ai/gpt-image-1.5(/edit)`: `prompt` minLength 2",
        "`validate` refuses prompts under 2 characters",
        FAL_SCHEMAS,
    ),
    Difference(
        ("img-reve-edit",),
        "1 to 10 reference images: 1 goes to edit, 2 or more to remix",
        "`fal-ai/reve/remix`: `image_urls` 1 to 6 images, each less than 10 MB; "
        "`fal-ai/reve/edit`: one `image_url`",
        "1 to 6 references; remix (2 to 6) refuses a file of 10 MB or more when its size is "
        "known (`attachmentSizes`); the description says 1-6",
        FAL_SCHEMAS,
    ),
    Difference(
        ("img-seedream-v4-edit", "img-seedream-v45-edit"),
        "up to 10 reference images",
        "`image_urls`: up to 10 inputs; image inputs plus outputs must not exceed 15",
        "`validate` refuses references + `numImages` over 15 (unreachable with our caps of "
        "10 and 4; it guards a raised cap)",
        FAL_SCHEMAS,
    ),
    Difference(
        ("img-imagen3",),
        "`VALID_ASPECT_RATIOS` (10 ratios)",
        "Wavespeed `google/imagen3`: `aspect_ratio` 1:1, 16:9, 9:16, 4:3, 3:4",
        "the catalog offers those 5; other ratios are refused with a sentence",
        WAVESPEED_IMAGEN3,
    ),
    Difference(
        ("img-gpt-image-1-edit",),
        "exactly one reference image, sent as the multipart `image` file (any type we "
        "accept for upload: PNG, JPEG, WebP, GIF)",
        '`/images/edits`: the input image "must be less than 50 MB in size and must be a '
        'PNG or JPG file"',
        "the backend reads the file's real type from its bytes and refuses a WebP or GIF "
        "reference with a sentence before Azure is called (the request fails uncharged)",
        AZURE_IMAGE_HOWTO,
    ),
    Difference(
        ("img-flux-2-max", "img-flux-2-max-edit", "img-wan-v22-a14b"),
        "`num_images` in the payload (N images per call)",
        "no `num_images` in the schema; Wan answers a single `image`",
        "the catalog marks `images_per_call = 1` (document: `imagesPerCall`) so the backend "
        "makes one call per requested image",
        FAL_SCHEMAS,
    ),
    Difference(
        NANO_BANANA,
        "no pixel sizes (the local provider drew a 1,024 / 2,048 / 4,096 long edge)",
        "Google's per-ratio tables, e.g. 16:9 is 1344x768 (2.5 Flash) and 1376x768 / "
        "2752x1536 / 5504x3072 (3 Pro at 1K / 2K / 4K)",
        "the local provider renders Google's sizes; `catalog/sizes.py` marks them exact",
        GOOGLE_GEMINI_IMAGE,
    ),
    Difference(
        ("img-imagen4-preview",),
        "no pixel sizes (the local provider drew a 1,024 long edge)",
        "1:1 1024x1024, 3:4 896x1280, 4:3 1280x896, 9:16 768x1408, 16:9 1408x768 at 1K",
        "the local provider renders these sizes",
        GOOGLE_IMAGEN4,
    ),
    Difference(
        ("img-imagen3",),
        "no pixel sizes (the local provider drew a 1,024 long edge)",
        "Google: the same 5 sizes as Imagen 4 at 1K (Wavespeed documents none)",
        "the local provider renders these sizes",
        GOOGLE_IMAGEN3,
    ),
    Difference(
        ("img-seedream-v45", "img-seedream-v45-edit"),
        "no pixel sizes (the local provider drew a 2,048 long edge, called exact)",
        "Fal's schema lists preset names (`square_hd`, `landscape_4_3`, ...) but no pixels "
        "for this model; Seedream 4.5 renders at least 2560x1440 pixels in total",
        "an estimate: ByteDance's 2K sizes (2048x2048, 2304x1728, 2560x1440, ...), marked "
        "`exact: false` in `catalog/sizes.py` and the models document, `~` on the card",
        SEEDREAM_V45_WAVESPEED,
    ),
    Difference(
        ("img-kling-o1", "img-reve", "img-reve-edit", "img-flux-kontext-pro"),
        "no pixel sizes (our 1,024 / 2,048 long edges were called exact)",
        "an `aspect_ratio` enum (Kling also `resolution` 1K / 2K), no pixel sizes",
        "the same long edges, now marked `exact: false` in `catalog/sizes.py` and the "
        "models document, and `~` on the rendered card",
        FAL_SCHEMAS,
    ),
    # Payload fields (backend/providers/payloads.py), checked against every schema by
    # tests/unit/test_fal_payload_contract.py.
    Difference(
        ("img-flux-2-max", "img-flux-2-max-edit"),
        "`image_size` enum + `output_format: jpeg`, with `num_images` (N images per call)",
        "`fal-ai/flux-2-max(/edit)`: no `num_images` input; `images` holds one image",
        "`{prompt, image_size, output_format}` (+ `image_urls`), no `num_images`; "
        "`fanout.py` submits N jobs behind one request id, whose status aggregates them "
        "(partial success delivers, and charges, the images that arrived)",
        FAL_SCHEMAS,
    ),
    Difference(
        ("img-wan-v22-a14b",),
        "the default payload `{prompt, aspect_ratio, num_images}`",
        "`fal-ai/wan/v2.2-a14b/text-to-image`: `image_size` (enum or width/height), no "
        "`aspect_ratio`, no `num_images`; the answer is one `image`, not `images`",
        "`{prompt, image_size}` with the ratio's enum (`landscape_4_3`, ...); N concurrent "
        "sync calls; the single `image` is read",
        FAL_SCHEMAS,
    ),
    Difference(
        ("img-seedream-v45", "img-seedream-v45-edit"),
        "`max_images = num_images`",
        "`num_images` generations of up to `max_images` images each: between N and N x M "
        "images in total",
        "`num_images: N`, `max_images: 1`: exactly N images",
        FAL_SCHEMAS,
    ),
    Difference(
        ("img-hunyuan-v21", "img-hunyuan-v3"),
        "the default payload with `aspect_ratio` (plus the 2.1 defaults / `sync_mode`)",
        "`fal-ai/hunyuan-image/v2.1|v3/text-to-image`: no `aspect_ratio` input; the shape "
        "is `image_size`",
        "the ratio's `image_size` enum only; `aspect_ratio` is not sent",
        FAL_SCHEMAS,
    ),
    Difference(
        ("img-flux-kontext-pro",),
        "`guidance_scale: 6.5`, `num_inference_steps: 28`",
        "`fal-ai/flux-pro/kontext`: `guidance_scale` 1 to 20; no `num_inference_steps` input",
        "`guidance_scale: 6.5`; `num_inference_steps` is not sent",
        FAL_SCHEMAS,
    ),
]


def rows() -> list[tuple[str, str, str, str, str]]:
    """Each difference as (models, seed, provider, ours, source) strings."""
    return [
        (", ".join(f"`{m}`" for m in d.models), d.seed, d.provider, d.ours, d.source)
        for d in DIFFERENCES
    ]
