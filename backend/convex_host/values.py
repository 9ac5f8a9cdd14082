"""Convex JSON -> Python values, iteratively and within Convex's own limits.

The numbers are Convex's, not ours:

* docs.convex.dev/production/state/limits, "Documents": a document is at most **1 MiB**,
  an object has at most **1024 fields**, an array at most **8192 elements**, objects and
  arrays nest at most **16** deep, and "strings must be valid Unicode sequences with no
  unpaired surrogates". "Functions": arguments are at most 16 MiB (the router's body cap).
* docs.convex.dev/database/types: strings (and bytes) must fit the 1 MiB value limit when
  encoded as UTF-8; field names must not start with "$".
* Convex's value crate (get-convex/convex-backend, crates/value/src/size.rs, array.rs,
  object.rs, sync_types identifier.rs): any value nests at most **64** deep
  (``MAX_NESTING``), ``MAX_ARRAY_LEN = 8192``, ``MAX_OBJECT_FIELDS = 1024``, and a field
  name is at most 1024 non-control ASCII characters and does not start with "$".

Arguments are Convex values, so they get the value limits (nesting 64, arrays, fields,
names, Unicode). Every argument of this host's functions is written into (or looked up
against) one document, so the arguments as a whole must also fit a document: 1 MiB. The
16-deep document limit needs no check of its own here: no validator of ours accepts a
value nested more than three levels, so anything deeper is refused by the validators.

Decoding walks an explicit stack, never Python's: no input can raise RecursionError.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import struct
from itertools import islice
from typing import Any

from convex.values import ConvexInt64

from backend.convex_host.errors import ArgumentValidationError

MIB = 1024 * 1024
MAX_DOCUMENT_BYTES = 1 * MIB
MAX_FIELDS = 1024
MAX_ARRAY_LEN = 8192
MAX_NESTING = 64
MAX_DOCUMENT_NESTING = 16  # enforced by the validators (see the module docstring)
MAX_FIELD_NAME_LENGTH = 1024

# Convex's approximate size of a value (crates/value/src/size.rs): delimiters count one
# byte each, a field its name plus one, scalars a few bytes.
_SCALAR_SIZE = 9
_ENCODED = ("$bytes", "$integer", "$float")


def preview(value: Any, limit: int = 200) -> str:
    """A JSON-like rendering of ``value``, at most ``limit`` characters, for messages.

    Iterative and bounded: it stops as soon as it has ``limit`` characters, whatever the
    value's size or depth, and escapes lone surrogates so the message can always be sent.
    """
    parts: list[str] = []
    length = 0
    stack: list[Any] = [value]
    while stack and length <= limit:
        item = stack.pop()
        if isinstance(item, _Raw):
            text = item.text
        elif isinstance(item, dict | list | tuple):
            is_dict = isinstance(item, dict)
            text = "{" if is_dict else "["
            stack.append(_Raw("}" if is_dict else "]"))
            entries = list(islice(item.items() if is_dict else item, limit // 4 + 1))
            if len(item) > len(entries):
                stack.extend((_Raw("..."), _Raw(", ")))
            # Pushed last to first, so they pop (and print) first to last.
            for i in range(len(entries) - 1, -1, -1):
                if is_dict:
                    key, val = entries[i]
                    stack.extend((val, _Raw(_string(str(key), limit) + ": ")))
                else:
                    stack.append(entries[i])
                if i:
                    stack.append(_Raw(", "))
        else:
            text = _scalar(item, limit)
        parts.append(text)
        length += len(text)
    text = "".join(parts)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Raw:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _string(text: str, limit: int) -> str:
    shown = json.dumps(text[: limit + 1], ensure_ascii=False)
    # A lone surrogate cannot be encoded as UTF-8: show it as its escape instead.
    return shown.encode("utf-8", "backslashreplace").decode("utf-8")


def _scalar(item: Any, limit: int) -> str:
    if item is None or isinstance(item, bool):
        return json.dumps(item)
    if isinstance(item, str):
        return _string(item, limit)
    if isinstance(item, float):
        return json.dumps(item)
    if isinstance(item, int):
        try:
            return str(item)
        except ValueError:  # more digits than Python will print
            return "<a very large integer>"
    if isinstance(item, ConvexInt64):
        return f"{item.value}n"
    if isinstance(item, bytes | bytearray):
        return f"<{len(item)} bytes>"
    return f"<{type(item).__name__}>"


def kind_of(value: Any) -> str:
    """The Convex type name of a decoded value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, ConvexInt64):
        return "bigint"
    if isinstance(value, bytes | bytearray):
        return "bytes"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def string_size(text: str) -> int:
    """UTF-8 length of a string; ArgumentValidationError for an unpaired surrogate."""
    if text.isascii():
        return len(text)
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ArgumentValidationError(
            f"String {preview(text, 60)} is not valid Unicode: it contains an unpaired "
            "surrogate. Convex strings must be valid Unicode sequences."
        ) from exc


def check_field_name(name: object) -> str:
    """Convex's field-name rules (sync_types ``check_valid_field_name``)."""
    if not isinstance(name, str):
        raise ArgumentValidationError(f"Field name {preview(name, 60)} is not a string.")
    if name.startswith("$"):
        raise ArgumentValidationError(
            f"Field name {preview(name, 60)} starts with '$', which is reserved."
        )
    if len(name) > MAX_FIELD_NAME_LENGTH:
        raise ArgumentValidationError(
            f"Field name is too long ({len(name)} > maximum {MAX_FIELD_NAME_LENGTH})."
        )
    if not name.isascii() or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ArgumentValidationError(
            f"Field name {preview(name, 60)} has an invalid character: field names can only "
            "contain non-control ASCII characters."
        )
    return name


def _decode_encoded(tag: str, payload: Any) -> Any:
    """``{"$bytes"|"$integer"|"$float": <base64>}`` -> bytes, ConvexInt64 or float."""
    if tag not in _ENCODED:
        raise ArgumentValidationError(
            f"Invalid encoded value {preview({tag: payload}, 80)}: {preview(tag, 40)} is not "
            'one of "$bytes", "$integer", "$float" (and field names may not start with "$").'
        )
    if not isinstance(payload, str):
        raise ArgumentValidationError(
            f"Invalid encoded value {preview({tag: payload}, 80)}: {tag} takes a base64 "
            f"string, not {kind_of(payload)}."
        )
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ArgumentValidationError(
            f"Invalid encoded value {preview({tag: payload}, 80)}: not valid base64."
        ) from exc
    if tag == "$bytes":
        return data
    if len(data) != 8:
        raise ArgumentValidationError(
            f"Invalid encoded value {preview({tag: payload}, 80)}: {tag} takes exactly 8 "
            f"bytes, not {len(data)}."
        )
    if tag == "$integer":
        return ConvexInt64(struct.unpack("<q", data)[0])
    (number,) = struct.unpack("<d", data)
    if math.isfinite(number) and not (number == 0 and math.copysign(1.0, number) < 0):
        raise ArgumentValidationError(
            f"Invalid encoded value {preview({tag: payload}, 80)}: $float is only for NaN, "
            "Infinity and -0; send other numbers as plain JSON numbers."
        )
    return number


def _leaf(item: Any) -> tuple[Any, int]:
    """A scalar decoded, with its size; ArgumentValidationError for what is no value."""
    if item is None or isinstance(item, bool):
        return item, 1
    if isinstance(item, str):
        return item, string_size(item) + 2
    if isinstance(item, float):
        return item, _SCALAR_SIZE
    if isinstance(item, int):
        try:
            # As JSON.parse does: a JSON integer is a number (a big one a lossy float).
            return float(item), _SCALAR_SIZE
        except OverflowError as exc:
            raise ArgumentValidationError(
                f"Number {preview(item, 40)} is too large for a float64."
            ) from exc
    if isinstance(item, ConvexInt64):
        return item, _SCALAR_SIZE
    if isinstance(item, bytes | bytearray):
        return bytes(item), len(item) + 2
    raise ArgumentValidationError(f"Unsupported value {preview(item, 80)}.")


def decode_value(raw: Any, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """Convex JSON (``format: "json"``) -> Python values, refusing what Convex refuses.

    Plain JSON integers become floats, exactly as Convex reads them; ``$``-encoded values
    become bytes, ConvexInt64 or special floats. ArgumentValidationError for anything
    past the limits above or not a Convex value.
    """
    root: list[Any] = [None]
    # (raw value, container to store it in, key or index there, depth)
    stack: list[tuple[Any, Any, Any, int]] = [(raw, root, 0, 0)]
    size = 0
    while stack:
        item, parent, slot, depth = stack.pop()
        if isinstance(item, list | tuple):
            _check_depth(depth)
            if len(item) > MAX_ARRAY_LEN:
                raise ArgumentValidationError(
                    f"Array length is too long ({len(item)} > maximum length {MAX_ARRAY_LEN})."
                )
            decoded: Any = [None] * len(item)
            stack.extend((x, decoded, i, depth + 1) for i, x in enumerate(item))
            size += 2
        elif isinstance(item, dict):
            if len(item) == 1:
                (tag, payload) = next(iter(item.items()))
                if isinstance(tag, str) and tag.startswith("$"):
                    decoded, item_size = _leaf(_decode_encoded(tag, payload))
                    parent[slot] = decoded
                    size += item_size
                    continue
            _check_depth(depth)
            if len(item) > MAX_FIELDS:
                raise ArgumentValidationError(
                    f"Object has too many fields ({len(item)} > maximum number {MAX_FIELDS})."
                )
            decoded = {}
            for key, val in item.items():
                name = check_field_name(key)
                size += string_size(name) + 1
                decoded[name] = None  # keeps the fields' order
                stack.append((val, decoded, name, depth + 1))
            size += 2
        else:
            decoded, item_size = _leaf(item)
            size += item_size
        parent[slot] = decoded
        if size > max_bytes:
            raise ArgumentValidationError(
                f"Value is too large (more than {max_bytes / MIB:g} MiB, Convex's maximum "
                "document size): the arguments of these functions are stored in documents."
            )
    return root[0]


def _check_depth(depth: int) -> None:
    if depth >= MAX_NESTING:
        raise ArgumentValidationError(
            f"Value is nested more than {MAX_NESTING} levels deep (Convex's maximum nesting)."
        )
