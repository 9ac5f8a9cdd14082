"""Attachment URLs must point into our store or an explicit allow-list (no SSRF)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.attachment_guard import check_attachment_urls, is_allowed_attachment
from backend.errors import ApiError
from backend.store.base import new_key
from backend.store.local import LocalObjectStore

BASE = "http://127.0.0.1:8765"
ALLOW = ("https://cdn.example.com/images/", "https://assets.example.org:8443/pub")


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path, BASE, b"s" * 32)


def test_store_urls_pass(store: LocalObjectStore) -> None:
    urls = [store.public_url(new_key("uploads", "image/png")) for _ in range(3)]
    assert check_attachment_urls(urls, store, ()) == urls
    assert check_attachment_urls([], store, ()) == []


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example.com/images/a.png",
        "https://cdn.example.com:443/images/sub/b.jpg",
        "https://CDN.example.com/images/c.webp",
        "https://assets.example.org:8443/pub/x.png",
        "https://assets.example.org:8443/pub",
    ],
)
def test_allow_list_passes(store: LocalObjectStore, url: str) -> None:
    assert check_attachment_urls([url], store, ALLOW) == [url]


KEY = "uploads/2026/01/01/" + "a" * 32 + ".png"


@pytest.mark.parametrize(
    "url",
    [
        f"{BASE}@evil.com/files/{KEY}",
        f"http://user:pw@127.0.0.1:8765/files/{KEY}",
        f"http://127.0.0.1:8766/files/{KEY}",
        f"https://127.0.0.1:8765/files/{KEY}",
        f"{BASE}/files/../secret.png",
        f"{BASE}/files/uploads/%2e%2e/x.png",
        f"{BASE}/files/{KEY}?redirect=http://evil.com",
        f"{BASE}/other/{KEY}",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8765/files/" + KEY,
        "file:///etc/passwd",
        "ftp://cdn.example.com/images/a.png",
        "gopher://127.0.0.1:6379/_FLUSHALL",
        "data:image/png;base64,AAAA",
        "//cdn.example.com/images/a.png",
        "javascript:alert(1)",
        "",
        " https://cdn.example.com/images/a.png",
        "https://cdn.example.com/images/a.png\r\nHost: evil",
        "https://cdn.example.com\\@evil.com/images/a.png",
        "https://cdn.example.com.evil.com/images/a.png",
        "https://evil.com/cdn.example.com/images/a.png",
        "https://cdn.example.com@evil.com/images/a.png",
        "https://cdn.example.com/images/../../admin",
        "https://cdn.example.com/images/%2e%2e/admin",
        "https://cdn.example.com/images%2f..%2fadmin",
        "https://cdn.example.com/imagesX/a.png",
        "http://cdn.example.com/images/a.png",
        "https://cdn.example.com:8443/images/a.png",
        "https://assets.example.org:8443/public/x.png",
        "https://assets.example.org:8443/pub-evil/x.png",
        "https://cdn.example.com:99999/images/a.png",
        "https://cdn.exämple.com/images/a.png",
    ],
)
def test_everything_else_is_rejected(store: LocalObjectStore, url: str) -> None:
    assert not is_allowed_attachment(url, store, ALLOW)
    with pytest.raises(ApiError) as err:
        check_attachment_urls(
            [store.public_url(new_key("uploads", "image/png")), url], store, ALLOW
        )
    assert (err.value.status, err.value.code) == (400, "attachment_not_allowed")
    assert err.value.message == "Attachment images must be uploaded through this app first."


def test_store_url_whose_base_changed(store: LocalObjectStore) -> None:
    url = store.public_url(new_key("uploads", "image/png"))
    store.base_url = "http://127.0.0.1:9999/"
    assert not is_allowed_attachment(url, store, ())
    assert is_allowed_attachment(store.public_url(new_key("uploads", "image/gif")), store, ())


def test_too_many_urls(store: LocalObjectStore) -> None:
    urls = [store.public_url(new_key("uploads", "image/png")) for _ in range(11)]
    with pytest.raises(ApiError) as err:
        check_attachment_urls(urls, store, ())
    assert (err.value.status, err.value.code) == (400, "attachment_not_allowed")
    assert check_attachment_urls(urls[:10], store, ()) == urls[:10]


def test_too_long_url(store: LocalObjectStore) -> None:
    url = "https://cdn.example.com/images/" + "a" * 2100 + ".png"
    with pytest.raises(ApiError):
        check_attachment_urls([url], store, ALLOW)


def test_malformed_allow_list_entries_are_ignored(store: LocalObjectStore) -> None:
    url = "https://cdn.example.com/images/a.png"
    assert not is_allowed_attachment(url, store, ("not a url", "cdn.example.com/images/"))
