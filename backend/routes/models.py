"""GET /api/mobile/models: the catalog document, so clients learn new models without an update."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from catalog import catalog_document

router = APIRouter(tags=["catalog"])


@router.get("/api/mobile/models", summary="The model catalog")
async def models() -> dict[str, Any]:
    return catalog_document()
