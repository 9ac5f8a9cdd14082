"""Every image model, as the seed's "Complete Image Model Matrix" and "UI metadata" say,
with the limits the providers themselves publish.

Where the seed and a provider disagree, the provider wins: prompt lengths, reference counts
and file sizes, aspect ratios and output-count semantics come from Fal's published input
schemas (fal-ai/fal-js `libs/client/src/types/image/zod.gen.ts` @ 53241327, vendored as JSON
Schema in ../shared/provider-schemas/) and Wavespeed's documentation for Imagen 3. Every such
difference, with its source, is a row of `backend/providers/differences.py` (rendered into
docs/providers.md). The order is the web picker's order; the two models the web picker hides
come last.
"""

from __future__ import annotations

from catalog.spec import (
    GPT_RATIOS,
    KLING_RATIOS,
    MB,
    STANDARD_RATIOS,
    VALID_ASPECT_RATIOS,
    AttachmentMode,
    AttachmentRule,
    ModelSpec,
)

ONE_OR_MORE = AttachmentRule(min=1, max=10)
EXACTLY_ONE = AttachmentRule(min=1, max=1)
# Seedream edits: "up to 10 image inputs"; "image inputs + image outputs must not exceed 15".
SEEDREAM_EDIT = AttachmentRule(min=1, max=10, max_total_images=15)
# Reve Edit: fal-ai/reve/edit takes one `image_url`; fal-ai/reve/remix takes 1 to 6
# `image_urls`, "each image must be less than 10 MB". We remix from two images on.
REVE_EDIT = AttachmentRule(
    min=1,
    max=6,
    modes=(
        AttachmentMode(name="edit", endpoint="fal-ai/reve/edit", min=1, max=1),
        AttachmentMode(
            name="remix", endpoint="fal-ai/reve/remix", min=2, max=6, max_file_bytes=10 * MB
        ),
    ),
)
# Prompt limits from the schemas (minLength / maxLength of `prompt`).
GEMINI_PROMPT_MIN = 3  # gemini-25-flash-image(/edit), nano-banana-pro(/edit): 3..50,000
IMAGEN4_PROMPT_MIN = 3  # imagen4/preview: 3..5,000
GPT_IMAGE_15_PROMPT_MIN = 2  # gpt-image-1.5(/edit): >= 2
KLING_PROMPT_MAX = 2500  # kling-image/o1: <= 2,500
REVE_PROMPT_MAX = 2560  # reve text-to-image / edit / remix: 1..2,560

_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="img-gpt-image-1-5",
        label="GPT-Image 1.5",
        company="OpenAI",
        description="OpenAI's latest image generation with quality tiers",
        logo="openai.svg",
        is_new=True,
        provider="fal",
        endpoint="fal-ai/gpt-image-1.5",
        call_type="queued",
        aspect_ratios=GPT_RATIOS,
        qualities=("medium", "high"),
        prompt_min_length=GPT_IMAGE_15_PROMPT_MIN,
        edit_variant="img-gpt-image-1-5-edit",
    ),
    ModelSpec(
        id="img-gpt-image-1-5-edit",
        label="GPT-Image 1.5 Edit",
        company="OpenAI",
        description="OpenAI's latest image editing with quality tiers",
        logo="openai.svg",
        is_new=True,
        provider="fal",
        endpoint="fal-ai/gpt-image-1.5/edit",
        call_type="queued",
        attachments=ONE_OR_MORE,
        aspect_ratios=GPT_RATIOS,
        qualities=("medium", "high"),
        prompt_min_length=GPT_IMAGE_15_PROMPT_MIN,
        base_model="img-gpt-image-1-5",
    ),
    ModelSpec(
        id="img-flux-2-max",
        label="Flux 2 Max",
        company="FLUX",
        description="State-of-the-art image generation with exceptional realism and precision",
        logo="flux.svg",
        is_new=True,
        provider="fal",
        endpoint="fal-ai/flux-2-max",
        call_type="queued",
        images_per_call=1,  # the schema has no num_images
        edit_variant="img-flux-2-max-edit",
    ),
    ModelSpec(
        id="img-flux-2-max-edit",
        label="Flux 2 Max Edit",
        company="FLUX",
        description="Advanced Flux 2 Max editing with up to 10 reference images",
        logo="flux.svg",
        is_new=True,
        provider="fal",
        endpoint="fal-ai/flux-2-max/edit",
        call_type="queued",
        attachments=ONE_OR_MORE,
        images_per_call=1,  # the schema has no num_images
        base_model="img-flux-2-max",
    ),
    ModelSpec(
        id="img-kling-o1",
        label="Kling O1 Image Edit",
        company="Kling",
        description="Advanced image editing with @Image1, @Image2 references (up to 10 images)",
        logo="kling.svg",
        is_new=True,
        provider="fal",
        endpoint="fal-ai/kling-image/o1",
        call_type="queued",
        attachments=ONE_OR_MORE,
        aspect_ratios=KLING_RATIOS,
        resolutions=("1K", "2K"),
        max_images=4,
        prompt_max_length=KLING_PROMPT_MAX,
    ),
    ModelSpec(
        id="img-nano-banana-pro",
        label="Nano Banana Pro",
        company="Google",
        description="Google's new state-of-the-art image generation model (1K/2K/4K)",
        logo="google.svg",
        is_new=True,
        provider="fal",
        endpoint="fal-ai/nano-banana-pro",
        call_type="queued",
        aspect_ratios=VALID_ASPECT_RATIOS,
        resolutions=("1K", "2K", "4K"),
        prompt_min_length=GEMINI_PROMPT_MIN,
        edit_variant="img-nano-banana-pro-edit",
    ),
    ModelSpec(
        id="img-nano-banana-pro-edit",
        label="Nano Banana Pro Edit",
        company="Google",
        description="Google's new state-of-the-art image editing model (1K/2K/4K)",
        logo="google.svg",
        is_new=True,
        provider="fal",
        endpoint="fal-ai/nano-banana-pro/edit",
        call_type="queued",
        attachments=ONE_OR_MORE,
        aspect_ratios=VALID_ASPECT_RATIOS,
        resolutions=("1K", "2K", "4K"),
        prompt_min_length=GEMINI_PROMPT_MIN,
        base_model="img-nano-banana-pro",
    ),
    ModelSpec(
        id="img-seedream-v45",
        label="Seedream v4.5",
        company="ByteDance",
        description="Latest generation with unified architecture for image creation",
        logo="bytedance.svg",
        is_new=True,
        provider="fal",
        endpoint="fal-ai/bytedance/seedream/v4.5/text-to-image",
        call_type="queued",
        edit_variant="img-seedream-v45-edit",
    ),
    ModelSpec(
        id="img-seedream-v45-edit",
        label="Seedream v4.5 Edit",
        company="ByteDance",
        description="Advanced multi-image editing with up to 10 reference images",
        logo="bytedance.svg",
        is_new=True,
        provider="fal",
        endpoint="fal-ai/bytedance/seedream/v4.5/edit",
        call_type="queued",
        attachments=SEEDREAM_EDIT,
        base_model="img-seedream-v45",
    ),
    ModelSpec(
        id="img-nano-banana",
        label="Nano Banana",
        company="Google",
        description="Fast text-to-image generation with aspect ratio control",
        logo="google.svg",
        provider="fal",
        endpoint="fal-ai/gemini-25-flash-image",
        call_type="queued",
        aspect_ratios=VALID_ASPECT_RATIOS,
        prompt_min_length=GEMINI_PROMPT_MIN,
        edit_variant="img-nano-banana-edit",
    ),
    ModelSpec(
        id="img-nano-banana-edit",
        label="Nano Banana Edit",
        company="Google",
        description="Advanced image editing with aspect ratio control",
        logo="google.svg",
        provider="fal",
        endpoint="fal-ai/gemini-25-flash-image/edit",
        call_type="queued",
        attachments=ONE_OR_MORE,
        aspect_ratios=VALID_ASPECT_RATIOS,
        prompt_min_length=GEMINI_PROMPT_MIN,
        base_model="img-nano-banana",
    ),
    ModelSpec(
        id="img-imagen4-preview",
        label="Imagen 4",
        company="Google",
        description="Standard quality, faster generation",
        logo="google.svg",
        provider="fal",
        endpoint="fal-ai/imagen4/preview",
        call_type="sync",
        prompt_min_length=IMAGEN4_PROMPT_MIN,
    ),
    ModelSpec(
        id="img-imagen3",
        label="Imagen 3",
        company="Google",
        description="Google's most realistic image generation model",
        logo="google.svg",
        provider="wavespeed",
        endpoint="wavespeed/imagen3",
        call_type="queued",
        # Wavespeed documents 1:1, 16:9, 9:16, 4:3 and 3:4 (the seed offered all ten).
        aspect_ratios=STANDARD_RATIOS,
        max_images=4,
    ),
    ModelSpec(
        id="img-hunyuan-v3",
        label="Hunyuan Image 3.0",
        company="Tencent",
        description="Tencent's latest text-to-image model with fast sync generation",
        logo="hunyuan.svg",
        provider="fal",
        endpoint="fal-ai/hunyuan-image/v3/text-to-image",
        call_type="sync",
    ),
    ModelSpec(
        id="img-reve",
        label="Reve",
        company="Reve",
        description=(
            "Detailed visual output with strong aesthetic quality and accurate text rendering"
        ),
        logo="reve.svg",
        provider="fal",
        endpoint="fal-ai/reve/text-to-image",
        call_type="sync",
        prompt_max_length=REVE_PROMPT_MAX,
        edit_variant="img-reve-edit",
    ),
    ModelSpec(
        id="img-reve-edit",
        label="Reve Edit",
        company="Reve",
        # The seed says 1-10; fal-ai/reve/remix takes at most 6.
        description="Edit and transform images with text prompts (1-6 reference images)",
        logo="reve.svg",
        provider="fal",
        endpoint="fal-ai/reve/edit",
        alt_endpoints={"remix": "fal-ai/reve/remix"},
        call_type="sync",
        attachments=REVE_EDIT,
        prompt_max_length=REVE_PROMPT_MAX,
        base_model="img-reve",
    ),
    ModelSpec(
        id="img-seedream-v4",
        label="Seedream v4",
        company="ByteDance",
        description="High-res 2K+ with strong text layout",
        logo="bytedance.svg",
        provider="fal",
        endpoint="fal-ai/bytedance/seedream/v4/text-to-image",
        call_type="queued",
        edit_variant="img-seedream-v4-edit",
    ),
    ModelSpec(
        id="img-seedream-v4-edit",
        label="Seedream v4 Edit",
        company="ByteDance",
        description="Multi-image editing (up to 10 refs)",
        logo="bytedance.svg",
        provider="fal",
        endpoint="fal-ai/bytedance/seedream/v4/edit",
        call_type="queued",
        attachments=SEEDREAM_EDIT,
        base_model="img-seedream-v4",
    ),
    ModelSpec(
        id="img-flux-kontext-pro",
        label="FLUX Kontext Pro",
        company="FLUX",
        description="Advanced image-to-image editing model",
        logo="flux.svg",
        provider="fal",
        endpoint="fal-ai/flux-pro/kontext",
        call_type="sync",
        attachments=EXACTLY_ONE,
    ),
    ModelSpec(
        id="img-gpt-image-1",
        label="GPT-Image 1",
        company="OpenAI",
        description="OpenAI text-to-image generation",
        logo="openai.svg",
        provider="azure",
        endpoint="AZURE_BASE_URL",
        call_type="sync",
        aspect_ratios=GPT_RATIOS,
        edit_variant="img-gpt-image-1-edit",
    ),
    ModelSpec(
        id="img-gpt-image-1-edit",
        label="GPT-Image 1 Edit",
        company="OpenAI",
        description="OpenAI image editing",
        logo="openai.svg",
        provider="azure",
        endpoint="AZURE_IMAGE_EDITS_URL",
        call_type="sync",
        attachments=EXACTLY_ONE,
        aspect_ratios=(),
        base_model="img-gpt-image-1",
    ),
    # Not in the web picker: reachable through "show all".
    ModelSpec(
        id="img-hunyuan-v21",
        label="Hunyuan Image 2.1",
        company="Tencent",
        description="Tencent's text-to-image model with tuned defaults",
        logo="hunyuan.svg",
        in_picker=False,
        provider="fal",
        endpoint="fal-ai/hunyuan-image/v2.1/text-to-image",
        call_type="sync",
    ),
    ModelSpec(
        id="img-wan-v22-a14b",
        label="Wan v2.2 A14B",
        company="Alibaba",
        description="Wan 2.2 A14B text-to-image",
        logo="wan.svg",
        in_picker=False,
        provider="fal",
        endpoint="fal-ai/wan/v2.2-a14b/text-to-image",
        call_type="sync",
        images_per_call=1,  # no num_images; the answer is a single `image`
    ),
)

MODELS: dict[str, ModelSpec] = {m.id: m for m in _MODELS}
MODEL_IDS: tuple[str, ...] = tuple(MODELS)


def get_model(model_id: str) -> ModelSpec | None:
    return MODELS.get(model_id)


def picker_models(show_all: bool = False) -> list[ModelSpec]:
    return [m for m in _MODELS if show_all or m.in_picker]


def edit_variant_for(model_id: str, n_attachments: int) -> str:
    """The model to actually use for ``model_id`` given how many images are attached.

    Mirrors the web picker: choosing a base model (Nano Banana, Seedream, GPT-Image, ...)
    and attaching images switches to its edit variant; removing every attachment from an
    edit variant switches back to its base. Models without a pairing (Kling O1, Imagen,
    unknown ids) are returned unchanged so the caller's validation can explain the problem.
    """
    model = MODELS.get(model_id)
    if model is None:
        return model_id
    if n_attachments > 0 and model.edit_variant is not None:
        return model.edit_variant
    if n_attachments <= 0 and model.base_model is not None:
        return model.base_model
    return model_id
