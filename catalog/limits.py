"""The providers' own limits on a request, as `validate` checks them.

Prompt length (the model's `prompt_min_length` / `prompt_max_length`, counted on the trimmed
prompt the provider receives), references plus outputs (Seedream edits: 15) and the size of
each reference file (Reve remix: under 10 MB). The numbers live on each `ModelSpec`
(catalog/models.py), taken from the providers' published schemas; every sentence names the
model and its limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalog.request import Problem
from catalog.spec import MAX_PROMPT_CHARS, MB, ModelSpec


def is_whole(value: Any) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def images_phrase(n: int) -> str:
    return "1 image" if n == 1 else f"{n} images"


def _characters(n: int) -> str:
    return "1 character" if n == 1 else f"{n:,} characters"


def _mb(n_bytes: int, limit: bool = False) -> str:
    """``10 MB`` for a limit, ``12.3 MB`` for a file."""
    return f"{n_bytes / MB:g} MB" if limit else f"{n_bytes / MB:.1f} MB"


def prompt_length_problems(prompt: str, model: ModelSpec | None) -> list[Problem]:
    """The model's prompt length limits; our overall 4,000 when the model is unknown."""
    n = len(prompt.strip())
    if model is None:
        if n <= MAX_PROMPT_CHARS:
            return []
        message = f"The prompt is {n:,} characters long; the limit is {MAX_PROMPT_CHARS:,}."
        return [Problem("prompt_too_long", "prompt", message)]
    if n < model.prompt_min_length:
        message = (
            f"{model.label} prompts need at least {_characters(model.prompt_min_length)}; "
            f"this one has {n:,}."
        )
        return [Problem("prompt_too_short", "prompt", message)]
    if n > model.prompt_max_length:
        message = (
            f"{model.label} prompts can be at most {_characters(model.prompt_max_length)}; "
            f"this one has {n:,}."
        )
        return [Problem("prompt_too_long", "prompt", message)]
    return []


def total_images_problems(model: ModelSpec, n_attached: int, num_images: Any) -> list[Problem]:
    """References plus requested outputs, where the provider caps the sum (Seedream edits)."""
    limit = model.attachments.max_total_images
    asked = num_images if is_whole(num_images) and num_images >= 1 else 1
    if limit is None or n_attached + asked <= limit:
        return []
    message = (
        f"{model.label} takes at most {limit} images in total, references and results "
        f"together; {images_phrase(n_attached)} attached and {images_phrase(asked)} asked "
        f"for make {n_attached + asked}."
    )
    return [Problem("too_many_images_in_total", "numImages", message)]


def parse_attachment_sizes(value: Any, problems: list[Problem]) -> list[int]:
    """The attached files' sizes in bytes when the caller knows them (else empty)."""
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(is_whole(s) and s >= 0 for s in value):
        message = "The attachment sizes must be a list of byte counts (whole numbers, 0 or more)."
        problems.append(Problem("invalid_attachment_sizes", "attachmentSizes", message))
        return []
    return list(value)


def attachment_size_problems(model: ModelSpec, n: int, sizes: Sequence[int]) -> list[Problem]:
    """Each file under the provider's per-file limit for the mode ``n`` images select."""
    rule = model.attachments
    limit = rule.file_limit(n)
    if limit is None:
        return []
    mode = rule.mode_for(n)
    where = f" ({mode.name}, {mode.min} to {mode.max} images)" if mode else ""
    return [
        Problem(
            "attachment_too_large",
            "attachmentImages",
            f"{model.label}{where} takes reference images under {_mb(limit, True)} each; "
            f"image {i} is {_mb(size)}.",
        )
        for i, size in enumerate(sizes, start=1)
        if size >= limit
    ]
