"""Path -> function, argument checks, and running a function in its transaction.

Used by the HTTP router and directly by tests and benchmarks (no HTTP in between):
``run_function(db, "mutation", "users:reserveCredits", {"amount": 4}, identity)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import ModuleType
from typing import Any

from convex.values import convex_to_json

from backend.auth.identity import Identity
from backend.convex_host import (
    functions_generations,
    functions_library,
    functions_sessions,
    functions_users,
)
from backend.convex_host.context import Ctx, FunctionKind, FunctionSpec
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.errors import (
    ArgumentValidationError,
    ConvexSystemError,
    FunctionNotFoundError,
)
from backend.convex_host.values import decode_value, kind_of, preview

__all__ = ["decode_value", "encode_value", "functions", "lookup", "run_function"]

# A function path is "module:function"; Convex's module paths and identifiers are short.
# Anything longer is refused before it is looked up or echoed in a message.
MAX_PATH_LENGTH = 512

MODULES: tuple[ModuleType, ...] = (
    functions_users,
    functions_generations,
    functions_sessions,
    functions_library,
)


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
    if len(path) > MAX_PATH_LENGTH or not path.isascii() or not path.isprintable():
        raise ConvexSystemError(
            f"Could not find public function for {preview(path, 80)}: a function path is "
            f'"module:function" in printable ASCII, at most {MAX_PATH_LENGTH} characters.'
        )
    spec = functions().get(canonical_path(path))
    if spec is None:
        raise FunctionNotFoundError(path)
    if spec.kind != kind:
        raise ConvexSystemError(
            f"Trying to execute {path} as {kind.capitalize()}, but it is defined as "
            f"{spec.kind.capitalize()}."
        )
    return spec


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
            "Arguments to a Convex function must be an object. Received: "
            f"{preview(args, 120)} ({kind_of(args)})"
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
