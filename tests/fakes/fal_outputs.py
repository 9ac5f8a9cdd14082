"""What the fake Fal checks and answers, per endpoint, from Fal's published JSON Schemas.

The schemas are the vendored ones (``tests/data/fal_schemas/``, else the shared copy in
``/work/shared/provider-schemas``): every submitted input is validated against the
endpoint's input schema (Fal answers 422 with ``detail: [{loc, msg, type}]``), the number
of images follows the schema (``num_images`` x ``max_images`` where the endpoint has them,
else one; an output schema with a single ``image`` answers exactly one), and every answer
is itself checked against the endpoint's output schema.
"""

from __future__ import annotations

import io
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from PIL import Image

_HERE = Path(__file__).resolve().parent
SCHEMA_DIRS = (_HERE.parent / "data" / "fal_schemas", Path("/work/shared/provider-schemas"))
# JSON Schema keyword -> the pydantic-style error type Fal's apps answer with.
_ERROR_TYPES = {
    "required": "missing",
    "enum": "literal_error",
    "const": "literal_error",
    "maximum": "less_than_equal",
    "minimum": "greater_than_equal",
    "maxLength": "string_too_long",
    "minLength": "string_too_short",
    "maxItems": "too_long",
    "minItems": "too_short",
    "type": "type_error",
}
_REQUIRED_NAME = re.compile(r"^'([^']+)' is a required property")


def schema_dir() -> Path:
    for directory in SCHEMA_DIRS:
        if (directory / "index.json").is_file():
            return directory
    raise FileNotFoundError("no vendored Fal schemas (tests/data/fal_schemas/index.json)")


@cache
def schemas() -> dict[str, dict[str, Any]]:
    """endpoint -> ``{"input": schema, "output": schema}``."""
    directory = schema_dir()
    index = json.loads((directory / "index.json").read_text())
    out: dict[str, dict[str, Any]] = {}
    for endpoint, name in index["endpoints"].items():
        doc = json.loads((directory / name).read_text())
        out[endpoint] = {"input": doc["input"], "output": doc["output"]}
    return out


def validation_errors(endpoint: str, body: Any) -> list[dict[str, Any]]:
    """Fal-style ``detail`` items for every way ``body`` breaks the endpoint's input schema."""
    validator = Draft202012Validator(schemas()[endpoint]["input"])
    detail: list[dict[str, Any]] = []
    for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        loc: list[Any] = ["body", *error.absolute_path]
        if error.validator == "required":
            match = _REQUIRED_NAME.match(error.message)
            if match:
                loc.append(match.group(1))
        detail.append(
            {
                "loc": loc,
                "msg": error.message,
                "type": _ERROR_TYPES.get(str(error.validator), "value_error"),
            }
        )
    return detail


def _default(schema: dict[str, Any], name: str, fallback: int) -> int:
    prop = schema.get("properties", {}).get(name, {})
    value = prop.get("default", fallback)
    return value if isinstance(value, int) else fallback


def image_count(endpoint: str, body: dict[str, Any]) -> int:
    """How many images this input makes at Fal (per the endpoint's schemas)."""
    entry = schemas()[endpoint]
    if "images" not in entry["output"].get("properties", {}):
        return 1  # answers a single `image`
    props = entry["input"].get("properties", {})
    count = 1
    if "num_images" in props:
        count = int(body.get("num_images", _default(entry["input"], "num_images", 1)))
    if "max_images" in props:
        # "up to max_images per generation": the fake always delivers the maximum.
        count *= int(body.get("max_images", _default(entry["input"], "max_images", 1)))
    return count


def png(index: int, width: int = 64, height: int = 48) -> bytes:
    colors = ("teal", "orange", "purple", "olive", "navy", "maroon")
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colors[index % len(colors)]).save(buf, "PNG")
    return buf.getvalue()


def is_image(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
    except Exception:
        return False
    return True


def _filler(schema: dict[str, Any], body: dict[str, Any], name: str, count: int) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        return 42
    if kind == "number":
        return 0.0
    if kind == "boolean":
        return False
    if kind == "string":
        value = body.get(name)
        return value if isinstance(value, str) else ""
    if kind == "array":
        item = schema.get("items", {})
        return [_filler(item, body, name, 1) for _ in range(count)] if item.get("type") else []
    return {}


def output_body(endpoint: str, body: dict[str, Any], files: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer for ``files`` (``{url, content_type, file_name, file_size, width, height}``)."""
    schema = schemas()[endpoint]["output"]
    props = schema.get("properties", {})
    if "images" in props:
        allowed = set(props["images"]["items"].get("properties", {}))
        answer: dict[str, Any] = {"images": [_only(f, allowed) for f in files]}
    else:
        allowed = set(props["image"].get("properties", {}))
        answer = {"image": _only(files[0], allowed)}
    for name in schema.get("required", []):
        if name not in answer:
            answer[name] = _filler(props.get(name, {}), body, name, len(files))
    problems = [e.message for e in Draft202012Validator(schema).iter_errors(answer)]
    if problems:
        raise AssertionError(f"the fake's own {endpoint} answer breaks its schema: {problems}")
    return answer


def _only(file: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    return {k: v for k, v in file.items() if k in allowed} if allowed else file
