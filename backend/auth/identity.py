"""Who is calling: the verified subject of the caller's JWT."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Identity:
    user_id: str  # the JWT's `sub` (Clerk user id, or the embedded local user)
    claims: dict[str, Any] = field(default_factory=dict, compare=False)
