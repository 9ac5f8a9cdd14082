"""What a test does when a service it needs (PostgreSQL, redis-server) is not installed.

On a developer's machine it is skipped, with the reason. Under CI (``.ci/run`` sets
``IMAGEGEN_REQUIRE_SERVICES=1`` after installing them) it fails instead: a missing
package must not turn the PostgreSQL half of the suite into silent skips.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_ENV = "IMAGEGEN_REQUIRE_SERVICES"


def services_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in ("1", "true", "yes")


def service_missing(reason: str) -> NoReturn:
    """Skip (or, when services are required, fail) the test that needs the service."""
    if services_required():
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set: required, not skipped)", pytrace=False)
    pytest.skip(reason)
