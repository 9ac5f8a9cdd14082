"""Attachment URLs must point into our object store (or an explicit allow-list).

The backend hands these URLs to providers, which fetch them; accepting arbitrary
addresses would let a caller aim those fetches anywhere (SSRF). Prefixes are compared on
the parsed scheme, host, port and path, never as raw strings, so userinfo tricks such as
``http://127.0.0.1:8765@evil.com/`` or encoded dot segments cannot slip through.
"""

from __future__ import annotations

from urllib.parse import SplitResult, unquote, urlsplit

from backend.errors import ApiError
from backend.store.base import ObjectStore

MAX_ATTACHMENTS = 10
MAX_URL_LENGTH = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _rejected() -> ApiError:
    return ApiError(
        400,
        "attachment_not_allowed",
        "Attachment images must be uploaded through this app first.",
    )


def _parse(url: str) -> SplitResult | None:
    """A strictly parsed http(s) URL with no credentials, or None."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        return None
    if not url.isascii() or "\\" in url or any(c.isspace() or ord(c) < 32 for c in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return None
    if port is not None and not 0 < port < 65536:
        return None
    segments = unquote(parts.path).split("/")
    if any(seg in (".", "..") for seg in segments) or "%2f" in parts.path.lower():
        return None
    return parts


def _effective_port(parts: SplitResult) -> int:
    return parts.port or _DEFAULT_PORTS[parts.scheme]


def _under_prefix(url: SplitResult, prefix: SplitResult) -> bool:
    if (url.scheme, url.hostname, _effective_port(url)) != (
        prefix.scheme,
        prefix.hostname,
        _effective_port(prefix),
    ):
        return False
    base = prefix.path or "/"
    if base.endswith("/"):
        return url.path.startswith(base)
    # "/bucket" allows "/bucket" and "/bucket/..." but not "/bucket-evil/...".
    return url.path == base or url.path.startswith(base + "/")


def is_allowed_attachment(url: str, store: ObjectStore, allow_list: tuple[str, ...]) -> bool:
    parts = _parse(url)
    if parts is None:
        return False
    if store.key_for_url(url) is not None:
        return True
    for raw in allow_list:
        prefix = _parse(raw)
        if prefix is not None and _under_prefix(parts, prefix):
            return True
    return False


def check_attachment_urls(
    urls: list[str], store: ObjectStore, allow_list: tuple[str, ...]
) -> list[str]:
    """Return ``urls`` unchanged if every one is acceptable; raise ApiError 400 if not."""
    if len(urls) > MAX_ATTACHMENTS:
        raise ApiError(
            400,
            "attachment_not_allowed",
            f"At most {MAX_ATTACHMENTS} attachment images can be sent at once.",
        )
    for url in urls:
        if not is_allowed_attachment(url, store, allow_list):
            raise _rejected()
    return list(urls)


async def stored_sizes(urls: list[str], store: ObjectStore) -> list[int]:
    """Bytes of each attachment in our store (0 for one it does not hold), so the
    catalog's per-file limits (e.g. Reve remix: each under 10 MB) hold whatever the client
    claims."""
    sizes: list[int] = []
    for url in urls:
        key = store.key_for_url(url)
        size = await store.size(key) if key else None
        sizes.append(size or 0)
    return sizes
