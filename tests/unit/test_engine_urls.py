"""local_store_url: store URLs of an older embedded port point at the current backend."""

from __future__ import annotations

import pytest

from gui.engine.urls import local_store_url

BASE = "http://127.0.0.1:5001"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:4242/files/outputs/a.png", f"{BASE}/files/outputs/a.png"),
        ("http://localhost:4242/files/u/b.jpg?v=1", f"{BASE}/files/u/b.jpg?v=1"),
        (f"{BASE}/files/outputs/a.png", f"{BASE}/files/outputs/a.png"),  # already current
        ("https://cdn.example.com/files/a.png", "https://cdn.example.com/files/a.png"),  # R2
        ("http://10.0.0.5:4242/files/a.png", "http://10.0.0.5:4242/files/a.png"),  # not ours
        ("http://127.0.0.1:4242/api/dev/token", "http://127.0.0.1:4242/api/dev/token"),
        ("http://127.0.0.1:4242/files/", "http://127.0.0.1:4242/files/"),  # no key
        ("http://127.0.0.1/files/a.png", "http://127.0.0.1/files/a.png"),  # no port
        ("http://u@127.0.0.1:4242/files/a.png", "http://u@127.0.0.1:4242/files/a.png"),
        ("http://127.0.0.1:99999999/files/a.png", "http://127.0.0.1:99999999/files/a.png"),
        ("/tmp/photo.png", "/tmp/photo.png"),
    ],
)
def test_rewrites_only_loopback_store_urls_of_another_port(url: str, expected: str) -> None:
    assert local_store_url(url, BASE) == expected


def test_without_an_embedded_backend_nothing_changes() -> None:
    url = "http://127.0.0.1:4242/files/outputs/a.png"
    assert local_store_url(url, None) == url
    assert local_store_url(url, f"{BASE}/") == f"{BASE}/files/outputs/a.png"
