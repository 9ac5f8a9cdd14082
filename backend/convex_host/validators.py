"""A small copy of Convex's argument validators (``v.string()``, ``v.object({...})``...).

They check decoded arguments before a handler runs and fail with Convex's own wording, so
a client sending the wrong shape gets the same ArgumentValidationError text as from a real
deployment. As in Convex, an optional field may be absent but not ``null``.

Checking walks an explicit stack and messages show a bounded preview of the value, so any
shape (bytes or a ``ConvexInt64`` where an object or a string belongs, scalars in an array
of objects, thousands of elements) is a clean ArgumentValidationError, never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from backend.convex_host.errors import ArgumentValidationError
from backend.convex_host.ids import is_id_of
from backend.convex_host.values import preview

# One step of a check: the (validator, value, path) triples still to check below it.
Pending = Sequence[tuple["Validator", Any, str]]


def _show(value: Any) -> str:
    return preview(value, 200)


def _field(key: object) -> str:
    text = (key if isinstance(key, str) else repr(key))[:80]
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def run_check(validator: Validator, value: Any, path: str) -> None:
    """Check ``value`` against ``validator`` with an explicit stack, never Python's: the
    work per value is bounded by the validator's shape, whatever the value's shape."""
    stack: list[tuple[Validator, Any, str]] = [(validator, value, path)]
    while stack:
        current, item, where = stack.pop()
        below = current.step(item, where)
        # Reversed, so the first field or element is checked (and reported) first.
        stack.extend(reversed(below))


class Validator:
    optional = False

    def matches_here(self, value: Any) -> bool:
        """Whether ``value`` has this validator's shape at this level (not below)."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def mismatch(self, value: Any, path: str) -> ArgumentValidationError:
        return ArgumentValidationError(
            f"Value does not match validator.\nPath: {path or '.'}\n"
            f"Value: {_show(value)}\nValidator: {self.describe()}"
        )

    def step(self, value: Any, path: str) -> Pending:
        """Check this level; return what is left to check below it."""
        if not self.matches_here(value):
            raise self.mismatch(value, path)
        return ()

    def check(self, value: Any, path: str) -> None:
        run_check(self, value, path)

    def matches(self, value: Any) -> bool:
        try:
            run_check(self, value, "")
        except ArgumentValidationError:
            return False
        return True


class _String(Validator):
    def matches_here(self, value: Any) -> bool:
        return isinstance(value, str)

    def describe(self) -> str:
        return "v.string()"


class _Number(Validator):
    def matches_here(self, value: Any) -> bool:
        return isinstance(value, float | int) and not isinstance(value, bool)

    def describe(self) -> str:
        return "v.number()"


class _Boolean(Validator):
    def matches_here(self, value: Any) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "v.boolean()"


class _Any(Validator):
    def matches_here(self, value: Any) -> bool:
        return True

    def describe(self) -> str:
        return "v.any()"


class _Id(Validator):
    def __init__(self, table: str) -> None:
        self.table = table

    def matches_here(self, value: Any) -> bool:
        return is_id_of(value, self.table)

    def describe(self) -> str:
        return f'v.id("{self.table}")'


class _Literal(Validator):
    def __init__(self, literal: str | float | bool) -> None:
        self.literal = literal

    def matches_here(self, value: Any) -> bool:
        return type(value) is type(self.literal) and value == self.literal

    def describe(self) -> str:
        return f"v.literal({_show(self.literal)})"


class _Union(Validator):
    def __init__(self, *members: Validator) -> None:
        self.members = members

    def matches_here(self, value: Any) -> bool:
        # Each member is checked whole; the nesting is the validators', not the value's.
        return any(m.matches(value) for m in self.members)

    def describe(self) -> str:
        return "v.union(" + ", ".join(m.describe() for m in self.members) + ")"


class _Optional(Validator):
    optional = True

    def __init__(self, inner: Validator) -> None:
        self.inner = inner

    def matches_here(self, value: Any) -> bool:
        return self.inner.matches_here(value)

    def step(self, value: Any, path: str) -> Pending:
        return self.inner.step(value, path)

    def describe(self) -> str:
        return f"v.optional({self.inner.describe()})"


class _Array(Validator):
    def __init__(self, item: Validator) -> None:
        self.item = item

    def matches_here(self, value: Any) -> bool:
        return isinstance(value, list)

    def step(self, value: Any, path: str) -> Pending:
        if not isinstance(value, list):
            raise self.mismatch(value, path)
        return [(self.item, x, f"{path}[{i}]") for i, x in enumerate(value)]

    def describe(self) -> str:
        return f"v.array({self.item.describe()})"


class ObjectValidator(Validator):
    def __init__(self, fields: Mapping[str, Validator]) -> None:
        self.fields = dict(fields)

    def matches_here(self, value: Any) -> bool:
        return isinstance(value, dict)

    def describe(self) -> str:
        inner = ", ".join(f"{k}: {v.describe()}" for k, v in self.fields.items())
        return "v.object({" + inner + "})"

    def step(self, value: Any, path: str) -> Pending:
        if not isinstance(value, dict):
            raise self.mismatch(value, path)
        for key in value:
            if key not in self.fields:
                raise ArgumentValidationError(
                    f"Object contains extra field `{_field(key)}` that is not in "
                    f"the validator.\n\nObject: {_show(value)}\nValidator: {self.describe()}"
                )
        below: list[tuple[Validator, Any, str]] = []
        for key, validator in self.fields.items():
            if key not in value:
                if validator.optional:
                    continue
                raise ArgumentValidationError(
                    f"Object is missing the required field `{key}`. Consider wrapping the "
                    "field validator in `v.optional(...)` if this is expected.\n\n"
                    f"Object: {_show(value)}\nValidator: {self.describe()}"
                )
            below.append((validator, value[key], f"{path}.{key}"))
        return below


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
