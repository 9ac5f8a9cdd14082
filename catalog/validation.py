"""One set of rules for a generation request, used by the client (before it uploads or
reserves anything) and by the server (before it calls a provider).

`validate` never raises: whatever arrives (a JSON body with wrong types, None, huge values)
it returns a list of `Problem`s, each with a sentence a user understands. `normalize` turns a
valid request into a `NormalizedInput` with the model's defaults filled in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from catalog.limits import (
    attachment_size_problems,
    images_phrase,
    is_whole,
    parse_attachment_sizes,
    prompt_length_problems,
    total_images_problems,
)
from catalog.models import MODELS
from catalog.request import (
    AttachmentImage,
    GenerationInput,
    InvalidGenerationInput,
    NormalizedInput,
    Problem,
)
from catalog.spec import MAX_PROMPT_CHARS, VALID_ASPECT_RATIOS, ModelSpec

__all__ = [
    "KLING_MODEL_ID",
    "MAX_PROMPT_CHARS",
    "AttachmentImage",
    "GenerationInput",
    "InvalidGenerationInput",
    "NormalizedInput",
    "Problem",
    "kling_mentions",
    "normalize",
    "validate",
]

KLING_MODEL_ID = "img-kling-o1"
_MENTION = re.compile(r"@image(\d+)", re.IGNORECASE)
# Longer digit runs are clamped: int() refuses > 4300 digits and no one attaches 10**9 images.
_MAX_MENTION_DIGITS = 9


def kling_mentions(prompt: str) -> list[int]:
    """The image numbers a prompt mentions as ``@ImageN``, sorted, without repeats."""
    if not isinstance(prompt, str):
        return []
    found: set[int] = set()
    for digits in _MENTION.findall(prompt):
        digits = digits.lstrip("0") or "0"
        found.add(10**_MAX_MENTION_DIGITS if len(digits) > _MAX_MENTION_DIGITS else int(digits))
    return sorted(found)


def _show(value: Any) -> str:
    """A short, safe rendering of a user-supplied value for a message."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 40 else text[:37] + "..."


def _or_list(options: tuple[str, ...]) -> str:
    if len(options) == 1:
        return options[0]
    return ", ".join(options[:-1]) + " or " + options[-1]


def _field(data: Mapping[Any, Any], camel: str, snake: str) -> Any:
    if camel in data:
        return data[camel]
    return data.get(snake)


def _check_prompt(prompt: Any, model: ModelSpec | None) -> list[Problem]:
    if prompt is None or (isinstance(prompt, str) and not prompt.strip()):
        return [Problem("empty_prompt", "prompt", "Enter a prompt: it cannot be empty.")]
    if not isinstance(prompt, str):
        return [Problem("invalid_prompt", "prompt", "The prompt must be text.")]
    return prompt_length_problems(prompt, model)


def _attachment_count(data: Mapping[Any, Any], problems: list[Problem]) -> int:
    """How many images are attached: the URLs if given, else the client's count."""
    images = _field(data, "attachmentImages", "attachment_images")
    # The HTTP body carries [{url}] objects; Python callers may pass plain `attachment_urls`.
    plain = images is None
    if plain:
        images = data.get("attachment_urls")
    n_urls = 0
    if images is not None:
        if not isinstance(images, list | tuple):
            problems.append(
                Problem(
                    "invalid_attachments",
                    "attachmentImages",
                    "The attached images must be a list of {url} objects.",
                )
            )
        else:
            for i, item in enumerate(images, start=1):
                url = item if plain else item.get("url") if isinstance(item, Mapping) else None
                if not isinstance(url, str) or not url.strip():
                    problems.append(
                        Problem(
                            "invalid_attachment",
                            "attachmentImages",
                            f"Attachment {i} has no usable URL.",
                        )
                    )
            n_urls = len(images)
    count = _field(data, "attachmentCount", "attachment_count")
    if count is None:
        return n_urls
    if not is_whole(count) or count < 0:
        problems.append(
            Problem(
                "invalid_attachment_count",
                "attachmentCount",
                "The attachment count must be a whole number of at least 0.",
            )
        )
        return n_urls
    return n_urls if n_urls else count


def _check_attachments(model: ModelSpec, n: int) -> list[Problem]:
    rule = model.attachments
    field = "attachmentImages"
    if not rule.accepted and n > 0:
        hint = ""
        if model.edit_variant and model.edit_variant in MODELS:
            hint = f"; use {MODELS[model.edit_variant].label} to edit images"
        return [
            Problem(
                "attachments_not_accepted",
                field,
                f"{model.label} does not take reference images{hint}.",
            )
        ]
    attached = (
        "none is attached" if n == 0 else f"{images_phrase(n)} {'is' if n == 1 else 'are'} attached"
    )
    if rule.accepted and rule.min == rule.max and n != rule.min:
        code = "too_few_attachments" if n < rule.min else "too_many_attachments"
        return [
            Problem(
                code,
                field,
                f"{model.label} needs exactly {rule.min} reference "
                f"{'image' if rule.min == 1 else 'images'}; {attached}.",
            )
        ]
    if n < rule.min:
        return [
            Problem(
                "too_few_attachments",
                field,
                f"{model.label} needs at least {rule.min} reference "
                f"{'image' if rule.min == 1 else 'images'}; {attached}.",
            )
        ]
    if rule.accepted and n > rule.max:
        return [
            Problem(
                "too_many_attachments",
                field,
                f"{model.label} takes at most {images_phrase(rule.max)}; {attached}.",
            )
        ]
    return []


def _check_option(
    model: ModelSpec, value: Any, offered: tuple[str, ...], field: str, name: str
) -> list[Problem]:
    if value is None:
        return []
    code = f"unsupported_{field}"
    if not offered:
        return [Problem(code, field, f"{model.label} has no {name} option.")]
    if not isinstance(value, str) or value not in offered:
        return [
            Problem(
                code,
                field,
                f"{model.label} offers {name} {_or_list(offered)}, not {_show(value)}.",
            )
        ]
    return []


def _check_aspect_ratio(model: ModelSpec, value: Any) -> list[Problem]:
    # A model without aspect ratios (GPT-Image 1 Edit keeps the attached image's shape)
    # ignores a well-formed one, as the web route does: clients always send their last choice.
    if value is None or (not model.aspect_ratios and value in VALID_ASPECT_RATIOS):
        return []
    if not model.aspect_ratios:
        return [
            Problem(
                "unsupported_aspect_ratio",
                "aspectRatio",
                f"Aspect ratio {_show(value)} is not one we know; {model.label} takes none "
                "(it keeps the attached image's shape).",
            )
        ]
    if not isinstance(value, str) or value not in model.aspect_ratios:
        return [
            Problem(
                "unsupported_aspect_ratio",
                "aspectRatio",
                f"{model.label} does not offer aspect ratio {_show(value)}; "
                f"choose {_or_list(model.aspect_ratios)}.",
            )
        ]
    return []


def _check_num_images(model: ModelSpec | None, value: Any) -> list[Problem]:
    if value is None:
        return []
    if not is_whole(value):
        return [
            Problem(
                "invalid_num_images",
                "numImages",
                f"The number of images must be a whole number, not {_show(value)}.",
            )
        ]
    if model is not None and not 1 <= value <= model.max_images:
        # Absurd values are not echoed back (and int -> str refuses > 4300 digits).
        asked = f"; {value:,} were asked for" if abs(value) < 10**15 else ""
        return [
            Problem(
                "num_images_out_of_range",
                "numImages",
                f"{model.label} makes 1 to {model.max_images} images per request{asked}.",
            )
        ]
    return []


def _check_mentions(prompt: Any, n_attached: int) -> list[Problem]:
    problems = []
    for n in kling_mentions(prompt):
        if n == 0:
            message = "@Image0 does not name an image: images are numbered from 1."
        elif n > n_attached:
            if n_attached == 0:
                tail = "but no images are attached"
            else:
                verb = "is" if n_attached == 1 else "are"
                tail = f"but only {images_phrase(n_attached)} {verb} attached"
            message = f"@Image{n} refers to image {n}, {tail}."
        else:
            continue
        problems.append(Problem("missing_mentioned_image", "prompt", message))
    return problems


def _validate(data: Any) -> list[Problem]:
    if isinstance(data, GenerationInput):
        data = data.to_body()
    if not isinstance(data, Mapping):
        return [Problem("invalid_body", "body", "The request must be a JSON object.")]
    problems: list[Problem] = []
    prompt = data.get("prompt")

    model_id = data.get("model")
    model: ModelSpec | None = None
    if model_id is None or model_id == "":
        problems.append(Problem("missing_model", "model", "Choose a model."))
    elif not isinstance(model_id, str):
        problems.append(Problem("invalid_model", "model", "The model must be a model id (text)."))
    elif model_id not in MODELS:
        problems.append(
            Problem(
                "unknown_model",
                "model",
                f"Unknown model {_show(model_id)}: it is not one of the models we offer.",
            )
        )
    else:
        model = MODELS[model_id]
    problems[:0] = _check_prompt(prompt, model)  # the prompt's problems read first

    n_attached = _attachment_count(data, problems)
    sizes = parse_attachment_sizes(_field(data, "attachmentSizes", "attachment_sizes"), problems)
    num_images = _field(data, "numImages", "num_images")
    problems += _check_num_images(model, num_images)
    if model is None:
        return problems
    problems += _check_aspect_ratio(model, _field(data, "aspectRatio", "aspect_ratio"))
    attachment_problems = _check_attachments(model, n_attached)
    problems += attachment_problems
    if not attachment_problems:
        problems += total_images_problems(model, n_attached, num_images)
        problems += attachment_size_problems(model, n_attached, sizes)
    problems += _check_option(
        model, data.get("resolution"), model.resolutions, "resolution", "resolution"
    )
    problems += _check_option(model, data.get("quality"), model.qualities, "quality", "quality")
    if model.id == KLING_MODEL_ID:
        problems += _check_mentions(prompt, n_attached)
    return problems


def validate(data: Mapping[str, Any] | GenerationInput | Any) -> list[Problem]:
    """Every problem with a generation request; an empty list means it can run."""
    try:
        return _validate(data)
    except Exception:  # A hostile Mapping can raise from anywhere; never let it escape.
        return [Problem("unreadable_body", "body", "The request could not be read.")]


def normalize(data: Mapping[str, Any] | GenerationInput) -> NormalizedInput:
    """The request with defaults applied; raises `InvalidGenerationInput` if it is invalid."""
    problems = validate(data)
    if problems:
        raise InvalidGenerationInput(problems)
    body = data.to_body() if isinstance(data, GenerationInput) else data
    model = MODELS[body["model"]]
    images = _field(body, "attachmentImages", "attachment_images")
    if images is None:
        images = body.get("attachment_urls") or ()
    urls = tuple(
        (item.get("url") if isinstance(item, Mapping) else item).strip() for item in images
    )
    num_images = _field(body, "numImages", "num_images") or 1
    aspect_ratio = _field(body, "aspectRatio", "aspect_ratio") if model.aspect_ratios else None
    return NormalizedInput(
        prompt=body["prompt"].strip(),
        model=model,
        aspect_ratio=aspect_ratio or model.default_aspect_ratio,
        # The provider caps (Imagen 3 and Kling O1 take at most 4) are each model's max.
        num_images=min(num_images, model.max_images),
        resolution=body.get("resolution") or model.default_resolution,
        quality=body.get("quality") or model.default_quality,
        attachment_urls=urls,
    )
