"""A session of real-size outputs, stored the way production stores them, for bench_gallery.

Each generation is one of :data:`CYCLE` (models at their real output sizes, in the format
their provider returns), newest first, so the window's first screen is 4K outputs. The
first cycle's images are distinct photographs (:mod:`bench.photo_images`) and go through
the backend's own :class:`~backend.rehost.Rehoster` on its own store, which writes the
display-size variants beside each original as it does for a provider's output. Later
generations reuse those bytes under keys of their own (hard links to the original and its
variants: the same files a rehost would write, without minutes of re-encoding 4K images),
so every tile has its own URL and nothing is shared by the client's caches. The rows are
added through the Convex host's HTTP API, as the server's own path adds them.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from backend.providers.base import ProviderImage
from backend.rehost import OUTPUT_PREFIX, Rehoster
from backend.store.base import new_key
from bench.photo_images import photo_bytes
from catalog import MODELS
from catalog.image_variants import VARIANT_EDGES, variant_key
from catalog.sizes import output_size


@dataclass(frozen=True)
class Shot:
    """One kind of generation: a model, its options and the format its provider returns."""

    model: str
    aspect_ratio: str
    resolution: str | None
    num_images: int
    fmt: str  # "png" | "jpeg"

    def size(self, scale: float = 1.0) -> tuple[int, int]:
        w, h = output_size(self.model, self.aspect_ratio, self.resolution)
        return max(16, round(w * scale)), max(16, round(h * scale))


# Newest first. PNG where the provider's default output is PNG (Fal's Gemini, GPT-Image and
# Kling endpoints); JPEG where we ask for it (Flux 2 Max, payloads.py) and for Seedream and
# Imagen, whose APIs answer JPEG. At 1280x800 the first screen shows the first two cards.
CYCLE: tuple[Shot, ...] = (
    Shot("img-nano-banana-pro", "1:1", "4K", 4, "png"),
    Shot("img-nano-banana-pro", "16:9", "4K", 4, "png"),
    Shot("img-seedream-v4", "1:1", None, 4, "jpeg"),
    Shot("img-flux-2-max", "4:3", None, 4, "jpeg"),
    Shot("img-nano-banana-pro", "3:4", "2K", 2, "png"),
    Shot("img-kling-o1", "1:1", "2K", 2, "png"),
    Shot("img-gpt-image-1-5", "4:3", None, 3, "png"),
    Shot("img-nano-banana", "1:1", None, 4, "png"),
    Shot("img-seedream-v45", "16:9", None, 2, "jpeg"),
    Shot("img-imagen4-preview", "1:1", None, 1, "jpeg"),
)


@dataclass
class StoredGeneration:
    shot: Shot
    images: list[dict[str, Any]]  # the row's images: {url, width, height, contentType}
    original_bytes: list[int]  # size of each original


@dataclass
class GallerySession:
    session_id: str
    generations: list[StoredGeneration]  # newest first, as the grid shows them
    variants_at_rehost: int  # variant files the rehost wrote (checked on disk)
    originals_rehosted: int

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "generations": [
                {
                    "model": g.shot.model,
                    "resolution": g.shot.resolution,
                    "images": g.images,
                    "bytes": g.original_bytes,
                }
                for g in self.generations
            ],
        }


async def _rehost_cycle(
    store: Any, scale: float, seed_base: int
) -> tuple[list[StoredGeneration], int]:
    """Store the first cycle through the real Rehoster; returns it and the variants made."""
    async with httpx.AsyncClient() as client:
        # A Rehoster of our own on the backend's store: its VariantWriter's locks belong to
        # this event loop, not to the server's.
        rehoster = Rehoster(store, client)
        stored: list[StoredGeneration] = []
        for n, shot in enumerate(CYCLE):
            width, height = shot.size(scale)
            blobs = await asyncio.gather(
                *(
                    asyncio.to_thread(photo_bytes, width, height, shot.fmt, seed_base + 10 * n + j)
                    for j in range(shot.num_images)
                )
            )
            images = await rehoster.rehost_all(ProviderImage(data=b) for b in blobs)
            rows = [image.to_json() for image in images]
            stored.append(StoredGeneration(shot, rows, [len(b) for b in blobs]))
        # On the local store the variants follow each answer: wait for the last of them.
        await rehoster.variants.settled()
    made = sum(
        (store.root / (variant_key(store.key_for_url(image["url"]), edge) or "")).is_file()
        for gen in stored
        for image in gen.images
        for edge in VARIANT_EDGES
    )
    return stored, made


def _clone(store: Any, url: str) -> str:
    """The same stored image (original and variants) under a fresh key of its own."""
    key = store.key_for_url(url)
    ext = key.rsplit(".", 1)[-1]
    content_type = {"png": "image/png", "jpg": "image/jpeg"}[ext]
    fresh = new_key(OUTPUT_PREFIX, content_type)
    (store.root / fresh).parent.mkdir(parents=True, exist_ok=True)
    os.link(store.root / key, store.root / fresh)
    for edge in VARIANT_EDGES:
        source = store.root / (variant_key(key, edge) or "")
        if source.is_file():
            os.link(source, store.root / (variant_key(fresh, edge) or ""))
    return str(store.public_url(fresh))


def _mutation(client: httpx.Client, path: str, args: dict[str, Any]) -> Any:
    resp = client.post("/api/mutation", json={"path": path, "args": args, "format": "json"})
    resp.raise_for_status()
    body = resp.json()
    if body.get("status") != "success":
        raise RuntimeError(f"{path} failed: {body.get('errorMessage')}")
    return body["value"]


def seed_session(
    backend: Any, token: str, generations: int, scale: float = 1.0, seed_base: int = 2000
) -> GallerySession:
    """Store ``generations`` generations for the token's user in a new session."""
    store = backend.app.state.rehoster.store
    cycle, made = asyncio.run(_rehost_cycle(store, scale, seed_base))
    stored: list[StoredGeneration] = []
    for i in range(generations):
        first = cycle[i % len(cycle)]
        if i < len(cycle):
            stored.append(first)
            continue
        images = [{**image, "url": _clone(store, image["url"])} for image in first.images]
        stored.append(StoredGeneration(first.shot, images, first.original_bytes))
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=backend.convex_url, headers=headers, timeout=30) as client:
        session_id = _mutation(
            client, "sessions:createSession", {"title": "Gallery at real sizes", "type": "image"}
        )
        # Oldest first, a few ms apart, so createdAt orders them exactly as `stored`.
        for i, gen in reversed(list(enumerate(stored))):
            _mutation(
                client,
                "sessions:addGenerationToSession",
                {
                    "sessionId": session_id,
                    "prompt": f"Generation {i}: a harbour at dawn, fishing boats, film grain",
                    "type": "image",
                    "model": gen.shot.model,
                    "modelLabel": MODELS[gen.shot.model].label,
                    "aspectRatio": gen.shot.aspect_ratio,
                    "numImages": gen.shot.num_images,
                    "isLoading": False,
                    "images": gen.images,
                },
            )
            time.sleep(0.002)
    originals = sum(len(g.images) for g in cycle)
    return GallerySession(str(session_id), stored, made, originals)


def write_plan(session: GallerySession, path: Path) -> None:
    """The session as JSON for the window child (which images are 4K, their sizes)."""
    path.write_text(json.dumps(session.to_json()))
