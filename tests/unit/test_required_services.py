"""Under CI a missing PostgreSQL or redis-server fails the tests that need it; elsewhere
they are skipped with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.required_services import REQUIRE_ENV, service_missing


def test_a_missing_service_is_a_skip_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL is not installed"):
        service_missing("PostgreSQL is not installed")


@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_a_missing_service_fails_when_required(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(REQUIRE_ENV, value)
    with pytest.raises(pytest.fail.Exception, match=r"redis-server is not installed.*required"):
        service_missing("redis-server is not installed")


def test_ci_requires_the_services() -> None:
    script = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert f"export {REQUIRE_ENV}=1" in script
    assert "need+=(postgresql)" in script and "need+=(redis-server)" in script
