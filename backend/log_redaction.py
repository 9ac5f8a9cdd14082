"""Keep signatures and tokens out of the access log.

uvicorn logs every request line with its query string, and some of our URLs carry secrets
there: the local store's presigned uploads (``sig``), S3-style signatures, and bearer-like
tokens. Anyone holding such a line could replay the upload until it expires, so the values
of those parameters are replaced before the line is formatted. The path stays, so the log
still says what happened.
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
REDACTED = "[redacted]"
# Query parameters whose values grant something (compared case-insensitively).
SECRET_PARAMS: frozenset[str] = frozenset(
    {
        "sig",
        "signature",
        "token",
        "access_token",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
    }
)
_PARAM = re.compile(r"(?P<sep>^|&)(?P<name>[^=&]+)=(?P<value>[^&]*)")


def redact_query(path: str) -> str:
    """``path?query`` with the values of secret parameters replaced by ``[redacted]``."""
    base, sep, query = path.partition("?")
    if not sep:
        return path

    def _one(match: re.Match[str]) -> str:
        if match["name"].lower() in SECRET_PARAMS:
            return f"{match['sep']}{match['name']}={REDACTED}"
        return match[0]

    return f"{base}?{_PARAM.sub(_one, query)}"


class RedactSecretsFilter(logging.Filter):
    """Rewrites the request-line argument of uvicorn's access records (the third one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_query(args[2]), *args[3:])
        return True


def install_access_log_redaction() -> None:
    """Attach the filter to uvicorn's access logger once (logging config keeps it: a
    ``dictConfig`` replaces a logger's handlers, not its filters)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactSecretsFilter) for f in logger.filters):
        logger.addFilter(RedactSecretsFilter())
