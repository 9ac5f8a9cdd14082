"""What an image worker process runs for the local provider (see backend.image_work_pool).

Module-level functions over plain data, so they pickle: the model travels as its id, the
image as bytes. A queued job's image gets its WebP variants in the same call, while its
bytes are at hand in the worker, instead of a second trip (and a second decode queue) when
the status route rehosts it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, NamedTuple

from backend.image_variants_maker import VariantError, make_variants
from backend.image_work_pool import BACKGROUND, URGENT, ImageWorkerCrashed, ImageWorkPool
from backend.providers.base import ProviderError
from backend.providers.local_render import render_image
from catalog import MODELS
from catalog.image_variants import VARIANT_EDGES


class Rendered(NamedTuple):
    """One rendered image: its bytes and type, and ``{edge: WebP}`` when variants were made
    with it (empty: the rehoster makes them)."""

    data: bytes
    content_type: str
    variants: dict[int, bytes]


class RenderSpec(NamedTuple):
    """Everything :func:`render_image` needs except the image's index."""

    prompt: str
    model_id: str
    width: int
    height: int
    total: int
    params: Mapping[str, Any]
    attachments: Sequence[bytes]
    exact_size: bool


def render_one(spec: RenderSpec, index: int) -> bytes:
    """Image ``index`` (1-based) of the job; PNG or JPEG bytes."""
    return render_image(
        prompt=spec.prompt,
        model=MODELS[spec.model_id],
        width=spec.width,
        height=spec.height,
        index=index,
        total=spec.total,
        params=spec.params,
        attachments=spec.attachments,
        exact_size=spec.exact_size,
    )


def render_in_worker(
    spec: RenderSpec, index: int, with_variants: bool
) -> tuple[bytes, dict[int, bytes]]:
    """Image ``index``, and its variants when asked. A variant is a convenience: when it
    cannot be made the dict is empty and the rehoster tries again (and logs why)."""
    data = render_one(spec, index)
    if not with_variants:
        return data, {}
    try:
        variants = make_variants(data, VARIANT_EDGES).variants
    except VariantError:
        variants = {}
    return data, variants


WorkerRender = Callable[[RenderSpec, int, bool], tuple[bytes, dict[int, bytes]]]


async def render_in_pool(
    pool: ImageWorkPool,
    fn: WorkerRender,
    spec: RenderSpec,
    still_wanted: Callable[[], Awaitable[bool]] | None,
) -> list[tuple[bytes, dict[int, bytes]]]:
    """Every image of ``spec`` in the pool's workers, in order. ``still_wanted`` marks a
    queued job: background priority, variants made in the same call, and dropped (raising
    WorkNotWanted) when the job no longer wants it at its turn. A sync model's call is
    urgent: its generate request is waiting."""
    queued = still_wanted is not None
    try:
        return await asyncio.gather(
            *(
                pool.run(
                    fn,
                    spec,
                    index,
                    queued,
                    priority=BACKGROUND if queued else URGENT,
                    still_wanted=still_wanted,
                )
                for index in range(1, spec.total + 1)
            )
        )
    except ImageWorkerCrashed as exc:
        raise ProviderError(exc.message, code="provider_failed", status=502) from exc
