"""Path -> function, argument checks, and running a function in its transaction.

Used by the HTTP router and directly by tests and benchmarks (no HTTP in between):
``run_function(db, "mutation", "users:reserveCredits", {"amount": 4}, identity)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import ModuleType
from typing import Any

from convex.values import convex_to_json, json_to_convex

from backend.auth.identity import Identity
from backend.convex_host import functions_generations, functions_sessions, functions_users
from backend.convex_host.context import Ctx, FunctionKind, FunctionSpec
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.errors import (
    ArgumentValidationError,
    ConvexSystemError,
    FunctionNotFoundError,
)

MODULES: tuple[ModuleType, ...] = (functions_users, functions_generations, functions_sessions)


@cache
def functions() -> Mapping[str, FunctionSpec]:
    found: dict[str, FunctionSpec] = {}
    for module in MODULES:
        for value in vars(module).values():
            if isinstance(value, FunctionSpec):
                found[value.path] = value
    return found


def canonical_path(path: str) -> str:
    """Convex accepts "users:getUserCredits", "users.js:getUserCredits" and "users"
    (the default export)."""
    module, _, name = path.partition(":")
    if module.endswith(".js"):
        module = module[:-3]
    return f"{module}:{name or 'default'}"


def lookup(kind: FunctionKind, path: object) -> FunctionSpec:
    if not isinstance(path, str) or not path:
        raise ConvexSystemError("The request names no function: `path` must be a string.")
    spec = functions().get(canonical_path(path))
    if spec is None:
        raise FunctionNotFoundError(path)
    if spec.kind != kind:
        raise ConvexSystemError(
            f"Trying to execute {path} as {kind.capitalize()}, but it is defined as "
            f"{spec.kind.capitalize()}."
        )
    return spec


# Convex refuses values nested deeper than this; it also keeps decoding off Python's
# recursion limit.
MAX_NESTING = 64


def decode_value(raw: Any, depth: int = 0) -> Any:
    """Convex JSON -> Python values. Plain JSON integers (sent by `format: "json"`
    clients) are numbers, i.e. floats, exactly as Convex reads them."""
    if isinstance(raw, bool) or raw is None or isinstance(raw, str | float):
        return raw
    if isinstance(raw, int):
        try:
            return float(raw)  # as JSON.parse does: a big integer becomes a lossy float
        except OverflowError as exc:
            raise ArgumentValidationError(f"Number {str(raw)[:40]}... is too large.") from exc
    if depth >= MAX_NESTING:
        raise ArgumentValidationError(f"Value is nested more than {MAX_NESTING} levels deep.")
    if isinstance(raw, list):
        return [decode_value(x, depth + 1) for x in raw]
    if isinstance(raw, dict):
        if len(raw) == 1 and str(next(iter(raw))).startswith("$"):
            try:
                return json_to_convex(raw)
            except Exception as exc:  # struct.error, binascii.Error, ValueError...
                raise ArgumentValidationError(
                    f"Invalid encoded value {str(raw)[:80]}: {exc}"
                ) from exc
        return {str(k): decode_value(val, depth + 1) for k, val in raw.items()}
    raise ArgumentValidationError(f"Unsupported value {str(raw)[:80]}.")


def encode_value(value: Any) -> Any:
    return convex_to_json(value)


def run_function(
    db: ConvexDatabase,
    kind: FunctionKind,
    path: object,
    args: Any,
    identity: Identity | None,
) -> Any:
    """Run one function; returns its (Python) value or raises a Convex error.

    A mutation is exactly one ``BEGIN IMMEDIATE`` transaction: whatever it reads and
    writes commits together or not at all.
    """
    spec = lookup(kind, path)
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ArgumentValidationError(
            f"Arguments to a Convex function must be an object. Received: {args!r}"
        )
    args = decode_value(args)
    spec.args.check(args, "")
    writable = spec.kind == "mutation"
    transaction = db.write() if writable else db.read()
    with transaction as conn:
        ctx = Ctx(
            conn=conn,
            identity=identity,
            writable=writable,
            starting_credits=db.starting_credits,
            slot_limit=db.slot_limit,
        )
        return spec.handler(ctx, args)
