"""Errors a function run can end with, split the way Convex splits them.

* :class:`ConvexFunctionError` is what a function throws with ``new ConvexError(data)``:
  the client gets ``errorMessage`` plus ``errorData`` and can show the message.
* :class:`ConvexSystemError` covers what Convex itself reports before or around the
  handler (unknown function, argument validation): ``errorMessage`` only.
"""

from __future__ import annotations

from typing import Any


class ConvexFunctionError(Exception):
    """`throw new ConvexError(data)` inside a function."""

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        # Like `new ConvexError("Not authorized")`: the data is the message string.
        self.data = message if data is None else data


class ConvexSystemError(Exception):
    """An error Convex reports without errorData (the official client raises it as
    ConvexExecutionError)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ArgumentValidationError(ConvexSystemError):
    def __init__(self, detail: str) -> None:
        super().__init__(f"ArgumentValidationError: {detail}")


class FunctionNotFoundError(ConvexSystemError):
    def __init__(self, path: str) -> None:
        super().__init__(
            f"Could not find public function for '{path}'. Did you forget to run "
            "`npx convex dev` or `npx convex deploy`?"
        )


def not_authenticated() -> ConvexFunctionError:
    return ConvexFunctionError("Not authenticated: sign in to use this function.")


def not_authorized(what: str) -> ConvexFunctionError:
    return ConvexFunctionError(f"Not authorized: this {what} belongs to another user.")


def not_found(what: str) -> ConvexFunctionError:
    return ConvexFunctionError(f"{what[:1].upper()}{what[1:]} not found.")
