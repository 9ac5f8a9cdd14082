"""A seeded plan of mixed generations for the crash harness and the load run.

Every item is valid by the catalog's rules (checked with ``catalog.validate``), carries a
``#<n>`` tag in its prompt, and knows its exact catalog cost.
"""

from __future__ import annotations

import random
from itertools import zip_longest
from pathlib import Path
from typing import Any

from PIL import Image

from catalog import MODELS, cost, validate

# 4K renders take seconds each and prove nothing more than 2K does.
SKIPPED_RESOLUTIONS = ("4K",)


def attachment_files(work: Path, count: int = 3) -> list[Path]:
    """Small real PNG/JPEG files the edit models can use."""
    work.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = work / f"attachment-{i}.{'png' if i % 2 == 0 else 'jpg'}"
        if not path.exists():
            Image.new("RGB", (96 + 32 * i, 64 + 16 * i), (40 * i, 120, 200)).save(path)
        paths.append(path)
    return paths


def item_cost(item: dict[str, Any]) -> int:
    return cost(
        item["model"],
        int(item.get("numImages", 1)),
        aspect_ratio=item.get("aspectRatio"),
        resolution=item.get("resolution"),
        quality=item.get("quality"),
    )


def make_plan(
    count: int,
    seed: int,
    attachments: list[Path] | None = None,
    models: list[str] | None = None,
) -> list[dict[str, Any]]:
    """``count`` valid, tagged requests over the catalog's models (edit models only when
    ``attachments`` are given)."""
    rng = random.Random(seed)
    pool = [
        m
        for m in MODELS.values()
        if (models is None or m.id in models) and (attachments or not m.attachments.required)
    ]
    # Sync and queued models take turns, so even a short plan has both kinds of call.
    sync = [m for m in pool if m.call_type == "sync"]
    queued = [m for m in pool if m.call_type != "sync"]
    pool = [m for pair in zip_longest(queued, sync) for m in pair if m is not None]
    plan: list[dict[str, Any]] = []
    while len(plan) < count:
        model = pool[len(plan) % len(pool)] if len(plan) < len(pool) else rng.choice(pool)
        tag = len(plan)
        item: dict[str, Any] = {"model": model.id, "numImages": rng.choice((1, 1, 2))}
        prompt = f"reliability #{tag} a lighthouse at dusk"
        if model.aspect_ratios:
            item["aspectRatio"] = rng.choice(model.aspect_ratios)
        resolutions = [r for r in model.resolutions if r not in SKIPPED_RESOLUTIONS]
        if resolutions:
            item["resolution"] = rng.choice(resolutions)
        if model.qualities:
            item["quality"] = rng.choice(model.qualities)
        if model.attachments.required and attachments:
            n = max(1, min(model.attachments.min, len(attachments)))
            item["attachments"] = [str(p) for p in attachments[:n]]
            prompt += " " + " ".join(f"@Image{i + 1}" for i in range(n))
        item["prompt"] = prompt
        body = {**item, "attachmentCount": len(item.get("attachments", []))}
        body.pop("attachments", None)
        if validate(body):
            continue  # an option combination the catalog refuses; draw again
        item["cost"] = item_cost(item)
        plan.append(item)
    return plan
