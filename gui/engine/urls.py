"""Store URLs of the embedded backend across restarts on another port.

The embedded backend's local store serves files at ``http://127.0.0.1:<port>/files/<key>``
and those URLs are saved (in Convex, in the journal). The backend reuses its last port when
it is free, but when another program took it a new port is chosen and every saved URL
points at the old one. The file is still there under the same key, so the engine rewrites
such a URL to the current backend before fetching it or sending it back as an attachment.
"""

from __future__ import annotations

from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
FILES_PREFIX = "/files/"


def local_store_url(url: str, current_base: str | None) -> str:
    """``url`` pointed at ``current_base`` when it is a loopback store URL of another port.

    Anything else (R2 URLs, other paths, a URL already on the current port, no embedded
    backend) is returned unchanged.
    """
    if not current_base:
        return url
    try:
        parts = urlsplit(url)
        port = parts.port
        base = urlsplit(current_base)
        base_port = base.port
    except ValueError:  # a malformed port: not one of ours
        return url
    if (
        parts.scheme != "http"
        or parts.hostname not in LOOPBACK_HOSTS
        or port is None
        or parts.username is not None
        or not parts.path.startswith(FILES_PREFIX)
        or len(parts.path) <= len(FILES_PREFIX)
    ):
        return url
    if port == base_port and parts.hostname == base.hostname:
        return url
    rewritten = current_base.rstrip("/") + parts.path
    return f"{rewritten}?{parts.query}" if parts.query else rewritten
