"""Everything the catalog knows about one model, as the rows the model sheet shows.

Qt-free and built from ``catalog.document.model_entry`` (the very entry
``GET /api/mobile/models`` serves), so the sheet shows what the server states, worded for
a person: provider and endpoint, sync or queued, ratios, references per mode, prompt
limits, resolutions, qualities, image counts and the price table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog import MODELS
from catalog.document import model_entry
from catalog.spec import MB

_DEFAULT_NAMES = {"aspectRatio": "aspect ratio", "resolution": "resolution", "quality": "quality"}


@dataclass(frozen=True)
class PriceLine:
    """One priced option combination: what it is ("4K", "high, 16:9", "any") and its cost."""

    options: str
    credits_per_image: float


@dataclass(frozen=True)
class ModelFacts:
    model_id: str
    label: str
    company: str
    description: str
    logo: str | None
    rows: tuple[tuple[str, str], ...]  # (what, value) in reading order
    prices: tuple[PriceLine, ...]


def _or_none(values: list[str]) -> str:
    return ", ".join(values) if values else "—"


def _mb(n_bytes: int | None) -> str:
    return "" if n_bytes is None else f", each file under {n_bytes / MB:g} MB"


def _range(low: int, high: int) -> str:
    return str(low) if low == high else f"{low} to {high}"


def references_text(attachments: dict[str, Any]) -> str:
    """ "None", "1 to 10" or, for a model whose reference count picks its endpoint, one
    clause per mode ("edit: 1 (fal-ai/reve/edit); remix: 2 to 6 (…)")."""
    if attachments["max"] == 0:
        return "None (text to image)"
    modes = attachments.get("modes") or []
    if modes:
        return "; ".join(
            f"{m['name']}: {_range(m['min'], m['max'])} ({m['endpoint']}){_mb(m['maxFileBytes'])}"
            for m in modes
        )
    text = _range(attachments["min"], attachments["max"]) + _mb(attachments.get("maxFileBytes"))
    if attachments.get("maxTotalImages"):
        text += f"; references and results together at most {attachments['maxTotalImages']}"
    return text


def _price_line(row: dict[str, Any]) -> PriceLine:
    named = [str(row[k]) for k in ("quality", "resolution", "aspectRatio") if row.get(k)]
    return PriceLine(", ".join(named) or "any options", float(row["costPerImage"]))


def model_facts(model_id: str) -> ModelFacts:
    """The sheet of ``model_id``; KeyError for a model the catalog does not have."""
    entry = model_entry(MODELS[model_id])
    defaults = entry["defaults"]
    per_call = entry["imagesPerCall"]
    alt = ", ".join(f"{k}: {v}" for k, v in entry["altEndpoints"].items())
    sizes = entry["outputSizes"]
    rows: list[tuple[str, str]] = [
        ("Model id", entry["id"]),
        ("Provider", entry["provider"]),
        ("Endpoint", entry["endpoint"] + (f" (also {alt})" if alt else "")),
        ("Call", "Sync: images in the answer" if entry["callType"] == "sync" else "Queued"),
        ("Aspect ratios", _or_none(entry["aspectRatios"])),
        ("References", references_text(entry["attachments"])),
        ("Prompt length", f"{entry['promptMinLength']:,} to {entry['promptMaxLength']:,} chars"),
        ("Resolutions", _or_none(entry["resolutions"])),
        ("Qualities", _or_none(entry["qualities"])),
        (
            "Images",
            f"1 to {entry['maxImages']}"
            + (f", {per_call} per provider call" if per_call is not None else ""),
        ),
        (
            "Defaults",
            ", ".join(f"{_DEFAULT_NAMES.get(k, k)} {v}" for k, v in defaults.items() if v) or "—",
        ),
        (
            "Output sizes",
            ("Documented" if sizes["exact"] else "Estimated") + f": {sizes['source']}",
        ),
    ]
    if entry["editVariant"]:
        rows.append(("Edit variant", MODELS[entry["editVariant"]].label))
    if entry["baseModel"]:
        rows.append(("Base model", MODELS[entry["baseModel"]].label))
    return ModelFacts(
        model_id=entry["id"],
        label=entry["label"],
        company=entry["company"],
        description=entry["description"],
        logo=entry["logo"],
        rows=tuple(rows),
        prices=tuple(_price_line(r) for r in entry["pricing"]),
    )
