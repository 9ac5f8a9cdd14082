"""GET /api/mobile/models: the catalog document, so clients learn new models without an update."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from backend.openapi import ok
from backend.routes.schemas import CatalogDocument
from catalog import catalog_document

router = APIRouter(tags=["catalog"])


@router.get(
    "/api/mobile/models",
    summary="The model catalog",
    response_model=None,
    responses=ok(CatalogDocument, "Every model, its options, defaults and prices."),
)
async def models() -> dict[str, Any]:
    return catalog_document()
