"""Display-size variants of stored images: one URL convention, shared by server and client.

Outputs are large (a 4K JPEG is 3-8 MB, a PNG far more) and a grid tile is ~200 px, so the
server writes smaller copies beside every image it stores, and the client asks for the one
that covers what it paints. An image stored at::

    <store>/<prefix>/<yyyy>/<mm>/<dd>/<32 hex>.<png|jpg|webp|gif>

has its variants at::

    <store>/<prefix>/<yyyy>/<mm>/<dd>/<32 hex>-w<edge>.webp

for each edge in :data:`VARIANT_EDGES` (the long side in pixels, never upscaled: a variant of
a smaller image is that image re-encoded). Only URLs of that shape have variants; anything
else (an older deployment's URL, a provider URL) is shown from the original. A server that
makes variants says so in ``/healthz`` (``features`` lists :data:`FEATURE`), so a client
never pays a failed request per image against a server that does not.
"""

from __future__ import annotations

import re

FEATURE = "image-variants"
VARIANT_EDGES: tuple[int, ...] = (256, 768, 1536)
VARIANT_CONTENT_TYPE = "image/webp"
VARIANT_EXTENSION = "webp"
# The largest variant is the carousel's "large" rendition: shown at once, before (and
# instead of) the original, which is fetched only to zoom, save, copy or drag out.
LARGE_EDGE = VARIANT_EDGES[-1]

_ORIGINAL_RE = re.compile(r"^(?P<base>.*/[0-9a-f]{32})\.(?:png|jpg|jpeg|webp|gif)$")
_VARIANT_RE = re.compile(r"^(?P<base>.*/[0-9a-f]{32})-w(?P<edge>[0-9]{2,5})\.webp$")


def has_variants(url: str) -> bool:
    """True when ``url`` has the shape of an original the server stores variants for."""
    return isinstance(url, str) and _ORIGINAL_RE.match(url) is not None


def variant_url(url: str, edge: int) -> str | None:
    """The URL of ``url``'s variant with long side ``edge``; None if it has no variants."""
    if edge not in VARIANT_EDGES:
        raise ValueError(f"{edge} is not one of the variant edges {VARIANT_EDGES}")
    match = _ORIGINAL_RE.match(url) if isinstance(url, str) else None
    if match is None:
        return None
    return f"{match['base']}-w{edge}.{VARIANT_EXTENSION}"


def variant_key(key: str, edge: int) -> str | None:
    """The store key of a variant (the same rule, applied to a key instead of a URL)."""
    return variant_url("/" + key, edge)[1:] if has_variants("/" + key) else None


def parse_variant(url: str) -> tuple[str, int] | None:
    """``(base, edge)`` when ``url`` (or a key) names a variant; ``base`` lacks the extension,
    since the original's extension cannot be read from the variant's name."""
    match = _VARIANT_RE.match(url) if isinstance(url, str) else None
    if match is None or int(match["edge"]) not in VARIANT_EDGES:
        return None
    return match["base"], int(match["edge"])


def edge_for(pixels: float) -> int | None:
    """The smallest variant edge that covers ``pixels`` device pixels, or None when only the
    original is large enough."""
    for edge in VARIANT_EDGES:
        if edge >= pixels:
            return edge
    return None
