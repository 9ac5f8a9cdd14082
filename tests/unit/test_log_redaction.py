"""Secrets in query strings never reach the access log."""

from __future__ import annotations

import logging

import pytest

from backend.log_redaction import (
    ACCESS_LOGGER,
    RedactSecretsFilter,
    install_access_log_redaction,
    redact_query,
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/healthz", "/healthz"),
        ("/a?x=1", "/a?x=1"),
        (
            "/files/u/a.png?exp=9&ct=image%2Fpng&max=10&sig=abc123",
            "/files/u/a.png?exp=9&ct=image%2Fpng&max=10&sig=[redacted]",
        ),
        ("/p?X-Amz-Signature=f00&X-Amz-Credential=k%2F1&a=b",
         "/p?X-Amz-Signature=[redacted]&X-Amz-Credential=[redacted]&a=b"),
        ("/p?token=t&designation=ok", "/p?token=[redacted]&designation=ok"),
        ("/p?sig=", "/p?sig=[redacted]"),
    ],
)  # fmt: skip
def test_redact_query(path: str, expected: str) -> None:
    assert redact_query(path) == expected


def test_access_records_are_rewritten_before_formatting() -> None:
    record = logging.LogRecord(
        ACCESS_LOGGER, logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "PUT", "/files/k.png?sig=deadbeef&exp=1", "1.1", 200), None,
    )  # fmt: skip
    assert RedactSecretsFilter().filter(record) is True
    line = record.getMessage()
    assert "deadbeef" not in line and "sig=[redacted]&exp=1" in line


def test_installing_twice_adds_one_filter() -> None:
    install_access_log_redaction()
    install_access_log_redaction()
    filters = logging.getLogger(ACCESS_LOGGER).filters
    assert sum(isinstance(f, RedactSecretsFilter) for f in filters) == 1
