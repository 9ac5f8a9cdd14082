"""Fixtures of the unit tests that touch a database."""

from __future__ import annotations

import pytest


@pytest.fixture
def queue_db(database_url: str) -> str:
    """The local provider's jobs database: a SQLite file, or a PostgreSQL database (the
    tests taking it run on both)."""
    return database_url
