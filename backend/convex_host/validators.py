"""A small copy of Convex's argument validators (``v.string()``, ``v.object({...})``...).

They check decoded arguments before a handler runs and fail with Convex's own wording, so
a client sending the wrong shape gets the same ArgumentValidationError text as from a real
deployment. As in Convex, an optional field may be absent but not ``null``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from backend.convex_host.errors import ArgumentValidationError
from backend.convex_host.ids import is_id_of


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, separators=(", ", ": "), default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


class Validator:
    optional = False

    def matches(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def check(self, value: Any, path: str) -> None:
        if not self.matches(value):
            raise ArgumentValidationError(
                f"Value does not match validator.\nPath: {path or '.'}\n"
                f"Value: {_show(value)}\nValidator: {self.describe()}"
            )


class _String(Validator):
    def matches(self, value: Any) -> bool:
        return isinstance(value, str)

    def describe(self) -> str:
        return "v.string()"


class _Number(Validator):
    def matches(self, value: Any) -> bool:
        return isinstance(value, float | int) and not isinstance(value, bool)

    def describe(self) -> str:
        return "v.number()"


class _Boolean(Validator):
    def matches(self, value: Any) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "v.boolean()"


class _Any(Validator):
    def matches(self, value: Any) -> bool:
        return True

    def describe(self) -> str:
        return "v.any()"


class _Id(Validator):
    def __init__(self, table: str) -> None:
        self.table = table

    def matches(self, value: Any) -> bool:
        return is_id_of(value, self.table)

    def describe(self) -> str:
        return f'v.id("{self.table}")'


class _Literal(Validator):
    def __init__(self, literal: str | float | bool) -> None:
        self.literal = literal

    def matches(self, value: Any) -> bool:
        return type(value) is type(self.literal) and value == self.literal

    def describe(self) -> str:
        return f"v.literal({_show(self.literal)})"


class _Union(Validator):
    def __init__(self, *members: Validator) -> None:
        self.members = members

    def matches(self, value: Any) -> bool:
        return any(m.matches(value) for m in self.members)

    def describe(self) -> str:
        return "v.union(" + ", ".join(m.describe() for m in self.members) + ")"


class _Optional(Validator):
    optional = True

    def __init__(self, inner: Validator) -> None:
        self.inner = inner

    def matches(self, value: Any) -> bool:
        return self.inner.matches(value)

    def check(self, value: Any, path: str) -> None:
        self.inner.check(value, path)

    def describe(self) -> str:
        return f"v.optional({self.inner.describe()})"


class _Array(Validator):
    def __init__(self, item: Validator) -> None:
        self.item = item

    def matches(self, value: Any) -> bool:
        return isinstance(value, list) and all(self.item.matches(x) for x in value)

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            super().check(value, path)
            return
        for i, item in enumerate(value):
            self.item.check(item, f"{path}[{i}]")

    def describe(self) -> str:
        return f"v.array({self.item.describe()})"


class ObjectValidator(Validator):
    def __init__(self, fields: Mapping[str, Validator]) -> None:
        self.fields = dict(fields)

    def matches(self, value: Any) -> bool:
        try:
            self.check(value, "")
        except ArgumentValidationError:
            return False
        return True

    def describe(self) -> str:
        inner = ", ".join(f"{k}: {v.describe()}" for k, v in self.fields.items())
        return "v.object({" + inner + "})"

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            super().check(value, path)
            return
        for key in value:
            if key not in self.fields:
                raise ArgumentValidationError(
                    f"Object contains extra field `{key}` that is not in the validator.\n\n"
                    f"Object: {_show(value)}\nValidator: {self.describe()}"
                )
        for key, validator in self.fields.items():
            if key not in value:
                if validator.optional:
                    continue
                raise ArgumentValidationError(
                    f"Object is missing the required field `{key}`. Consider wrapping the "
                    "field validator in `v.optional(...)` if this is expected.\n\n"
                    f"Object: {_show(value)}\nValidator: {self.describe()}"
                )
            validator.check(value[key], f"{path}.{key}")


class _V:
    """The `v` namespace, spelled as in Convex code."""

    @staticmethod
    def string() -> Validator:
        return _String()

    @staticmethod
    def number() -> Validator:
        return _Number()

    @staticmethod
    def boolean() -> Validator:
        return _Boolean()

    @staticmethod
    def any() -> Validator:
        return _Any()

    @staticmethod
    def id(table: str) -> Validator:
        return _Id(table)

    @staticmethod
    def literal(value: str | float | bool) -> Validator:
        return _Literal(value)

    @staticmethod
    def union(*members: Validator) -> Validator:
        return _Union(*members)

    @staticmethod
    def optional(inner: Validator) -> Validator:
        return _Optional(inner)

    @staticmethod
    def array(item: Validator) -> Validator:
        return _Array(item)

    @staticmethod
    def object(fields: Mapping[str, Validator]) -> ObjectValidator:
        return ObjectValidator(fields)


v = _V()
