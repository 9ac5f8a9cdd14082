"""Display-size variants over real HTTP on the embedded backend's local store: outputs,
uploads, references, old records made on first request, and what an attacker gets."""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from backend.image_variants_maker import fit
from backend.server import EmbeddedBackend
from backend.store.base import new_key
from catalog.image_variants import FEATURE, VARIANT_EDGES, variant_url
from tests.conftest import FAST_TIMINGS, dev_token
from tests.integration.routes_support import (
    GENERATE_PATH,
    api_client,
    assert_error,
    convex_value,
    resolve,
    upload,
)

SYNC = "img-imagen4-preview"
QUEUED_4K = "img-nano-banana-pro"
STORE_DIR = "files"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBackend]:
    """One backend for the module: every test makes fresh keys, so none sees another's."""
    with EmbeddedBackend(tmp_path_factory.mktemp("variants"), **FAST_TIMINGS) as running:
        yield running


@pytest.fixture(scope="module")
def client(backend: EmbeddedBackend) -> Iterator[httpx.Client]:
    with api_client(backend.base_url, dev_token(backend)) as c:
        yield c


def store_root(backend: EmbeddedBackend) -> Path:
    return backend.config.data_dir / STORE_DIR


def stored_files(backend: EmbeddedBackend) -> set[Path]:
    return {p for p in store_root(backend).rglob("*") if p.is_file()}


def jpeg(width: int, height: int, color: str = "orange") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def assert_variants(client: httpx.Client, url: str, width: int, height: int) -> None:
    """Every variant of ``url`` is served as WebP at its edge's size."""
    for edge in VARIANT_EDGES:
        vurl = variant_url(url, edge)
        assert vurl is not None, url
        resp = client.get(vurl)
        assert resp.status_code == 200, (vurl, resp.text)
        assert resp.headers["content-type"] == "image/webp"
        with Image.open(io.BytesIO(resp.content)) as img:
            assert (img.format, img.size) == ("WEBP", fit(width, height, edge))


def wait_for(check: Callable[[], bool], limit_s: float = 20.0) -> None:
    """Background work ends soon; this only bounds how long a broken build hangs."""
    deadline = time.monotonic() + limit_s
    while not check():
        assert time.monotonic() < deadline, "the background work never finished"
        time.sleep(0.05)


def test_health_lists_the_feature_beside_the_others(client: httpx.Client) -> None:
    features = client.get("/healthz").json()["features"]
    assert FEATURE in features and "cancel" in features and "server-billing" in features


def test_a_sync_output_has_size_type_and_every_variant(client: httpx.Client) -> None:
    resp = client.post(GENERATE_PATH, json={"prompt": "a lighthouse", "model": SYNC})
    assert resp.status_code == 200, resp.text
    [image] = resp.json()["images"]
    assert (image["width"], image["height"]) == (1024, 1024)
    assert image["contentType"] == "image/png"
    assert_variants(client, image["url"], 1024, 1024)


def test_a_queued_4k_output_reaches_status_and_the_session_row_with_its_size(
    client: httpx.Client,
) -> None:
    body = {
        "prompt": "a harbour at dawn",
        "model": QUEUED_4K,
        "aspectRatio": "16:9",
        "resolution": "4K",
        "idempotencyKey": uuid.uuid4().hex,
        "sessionTitle": "Harbour",
    }
    answer = client.post(GENERATE_PATH, json=body)
    assert answer.status_code == 200, answer.text
    done = resolve(client, answer.json()["requestId"], QUEUED_4K)
    [image] = done["images"]
    assert (image["width"], image["height"]) == (5504, 3072)
    assert image["contentType"] == "image/jpeg"
    assert_variants(client, image["url"], 5504, 3072)
    session_id = answer.json()["billing"]["sessionId"]
    [row] = convex_value(
        client, "query", "sessions:getSessionGenerations", {"sessionId": session_id}
    )
    assert row["images"] == [image]
    # Asked again, the cached answer is the same, sizes included.
    assert resolve(client, answer.json()["requestId"], QUEUED_4K)["images"] == [image]


def test_a_presigned_upload_has_its_variants_when_the_put_answers(client: httpx.Client) -> None:
    url = upload(client, jpeg(3000, 1200), "image/jpeg")
    assert_variants(client, url, 3000, 1200)


def test_a_reference_without_variants_gets_them_from_the_generate_route(
    backend: EmbeddedBackend, client: httpx.Client
) -> None:
    # An upload from before variants existed: the original alone, as it was stored then.
    key = new_key("uploads", "image/jpeg")
    (store_root(backend) / key).parent.mkdir(parents=True, exist_ok=True)
    (store_root(backend) / key).write_bytes(jpeg(1600, 900, "teal"))
    url = f"{backend.base_url}/files/{key}"
    body = {
        "prompt": "make it blue",
        "model": "img-flux-kontext-pro",
        "attachmentImages": [{"url": url}],
    }
    resp = client.post(GENERATE_PATH, json=body)
    assert resp.status_code == 200, resp.text
    variant_files = [
        store_root(backend) / key.replace(".jpg", f"-w{e}.webp") for e in VARIANT_EDGES
    ]
    wait_for(lambda: all(p.is_file() for p in variant_files))
    assert_variants(client, url, 1600, 900)


def test_an_old_originals_variant_is_made_on_first_request(
    backend: EmbeddedBackend, client: httpx.Client
) -> None:
    key = new_key("generations", "image/png")
    original = store_root(backend) / key
    original.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (2048, 1024), "navy").save(original, "PNG")
    url = f"{backend.base_url}/files/{key}"
    vurl = variant_url(url, 768) or ""
    made = original.with_name(original.stem + "-w768.webp")
    assert not made.exists()
    # Many first requests at once: each gets the whole variant, and one file is left.
    answers: list[httpx.Response] = []
    threads = [threading.Thread(target=lambda: answers.append(httpx.get(vurl))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 6
    assert len({a.content for a in answers}) == 1
    assert made.read_bytes() == answers[0].content
    with Image.open(made) as img:
        assert (img.format, img.size) == ("WEBP", (768, 384))
    # No temporary file left behind either (they are named after the variant).
    mine = sorted(p.name for p in original.parent.iterdir() if original.stem in p.name)
    assert mine == sorted([original.name, made.name])
    assert client.get(vurl).content == answers[0].content  # served from the file now


def test_a_variant_of_a_missing_original_is_a_404(
    backend: EmbeddedBackend, client: httpx.Client
) -> None:
    before = stored_files(backend)
    url = f"{backend.base_url}/files/{new_key('generations', 'image/png')}"
    assert_error(client.get(variant_url(url, 256) or ""), 404, "not_found")
    assert stored_files(backend) == before


@pytest.mark.parametrize(
    "path",
    [
        "{dir}/{stem}-w512.webp",  # an edge that is not offered
        "{dir}/{stem}-w0256.webp",  # the right edge, spelt another way
        "{dir}/{stem}-w00768.webp",
        "{dir}/{stem}-w256.png",  # variants are WebP only
        "{dir}/{stem}-w256-w256.webp",
        "{dir}/{upper}-w256.webp",
        "{dir}/../{stem}-w256.webp",
        "{dir}/%2e%2e/{stem}-w256.webp",
        "{dir}/..%2f{stem}-w256.webp",
        "{dir}/{stem}-w256.webp%00.png",
        "{dir}/.{stem}-w256.webp",
        "{dir}/{stem}-w256.webp/",
    ],
)
def test_attackers_get_404_and_nothing_is_written(
    backend: EmbeddedBackend, client: httpx.Client, path: str
) -> None:
    key = new_key("generations", "image/png")
    original = store_root(backend) / key
    original.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (600, 400), "red").save(original, "PNG")
    folder, name = key.rsplit("/", 1)
    stem = name.split(".")[0]
    before = stored_files(backend)
    raw = path.format(dir=folder, stem=stem, upper=stem.upper())
    resp = client.get(httpx.URL(f"{backend.base_url}/files/{raw}"))
    assert resp.status_code == 404, (raw, resp.text)
    assert resp.json()["code"] == "not_found"
    assert stored_files(backend) == before
