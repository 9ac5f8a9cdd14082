"""The OpenAPI document says what the routes really answer.

Routes declare their answers with :func:`ok` and :func:`backend.errors.error_responses`,
and the bodies they read themselves with :func:`request_body`. :func:`install_openapi`
then adds those body models to the components, declares the Bearer scheme, and drops
FastAPI's automatic 422 "Validation Error" (a request validation error is answered as a
400 ``{error, code}`` by ``backend.errors``, so that 422 is never sent).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from backend.routes.schemas import REQUEST_BODIES

_COMPONENTS = "#/components/schemas/"
BEARER_SCHEME = "bearerAuth"
# openapi_extra for the routes that need ``Authorization: Bearer <JWT>``.
BEARER: dict[str, Any] = {"security": [{BEARER_SCHEME: []}]}
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def ok(model: Any, description: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entry for the 200 answer (the routes return plain dicts)."""
    return {200: {"model": model, "description": description}}


def request_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """openapi_extra declaring a JSON body the route reads itself (see routes/body.py)."""
    if model not in REQUEST_BODIES:
        raise ValueError(f"{model.__name__} must be listed in schemas.REQUEST_BODIES")
    schema = {"$ref": _COMPONENTS + model.__name__}
    return {
        "requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}
    }


def _add_request_bodies(schemas: dict[str, Any]) -> None:
    _, top = models_json_schema(
        [(model, "validation") for model in REQUEST_BODIES],
        ref_template=_COMPONENTS + "{model}",
    )
    for name, schema in top.get("$defs", {}).items():
        if name in schemas and schemas[name] != schema:
            raise ValueError(f"two different schemas are named {name}")
        schemas[name] = schema


def _drop_validation_422(document: dict[str, Any]) -> None:
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            answer = operation.get("responses", {}).get("422")
            if answer is not None and "HTTPValidationError" in json.dumps(answer):
                del operation["responses"]["422"]
    schemas = document.get("components", {}).get("schemas", {})
    rest = json.dumps({k: v for k, v in document.items() if k != "components"})
    rest += json.dumps({k: v for k, v in schemas.items() if k not in _FASTAPI_VALIDATION})
    if not any(_COMPONENTS + name in rest for name in _FASTAPI_VALIDATION):
        for name in _FASTAPI_VALIDATION:
            schemas.pop(name, None)


def build_openapi(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = document.setdefault("components", {})
    _add_request_bodies(components.setdefault("schemas", {}))
    components.setdefault("securitySchemes", {})[BEARER_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    _drop_validation_422(document)
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve :func:`build_openapi`'s document at ``app.openapi_url`` (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
