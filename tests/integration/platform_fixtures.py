"""Fixtures for the platform tests: a real redis-server, a moto S3 server, and the local
object store served by uvicorn. Import the fixtures you need into a test module."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI

from backend.app import add_routes
from backend.errors import install_error_handlers
from backend.runner import ThreadedServer, free_port
from backend.store.local import LocalObjectStore
from bench.reliability.cluster import RedisServer
from tests.required_services import service_missing

REDIS_BINARY = shutil.which("redis-server")
SECRET = b"platform-tests-secret-0123456789"


def _wait_until(check: object, what: str, timeout_s: float = 10.0) -> None:
    """Poll a readiness check (not a timing assertion: only a startup deadline)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not start in time")
        time.sleep(0.02)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A throwaway redis-server on a free loopback port (no persistence)."""
    if REDIS_BINARY is None:
        service_missing("redis-server is not installed (.ci/run installs it)")
    server = RedisServer()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port (one per test module)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_client_with_bucket(endpoint: str, bucket: str) -> Any:
    """A boto3 client of moto's server at ``endpoint``, with ``bucket`` created."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket)
    return client


def r2_settings(endpoint: str, bucket: str, public_base_url: str) -> dict[str, str]:
    """The backend's R2 settings for a bucket of moto's server (its test credentials)."""
    return {
        "r2_endpoint_url": endpoint,
        "r2_access_key_id": "test",
        "r2_secret_access_key": "test",
        "r2_bucket": bucket,
        "r2_public_base_url": public_base_url,
    }


@dataclass
class LocalStoreServer:
    store: LocalObjectStore
    server: ThreadedServer

    @property
    def base_url(self) -> str:
        return self.server.base_url


@pytest.fixture(scope="module")
def local_store_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStoreServer]:
    """The local store's /files routes on a real uvicorn server (one per test module;
    tests use fresh keys, so they do not see each other's files)."""
    root = tmp_path_factory.mktemp("local-store")
    store = LocalObjectStore(root / "files", "http://placeholder", SECRET)
    app = FastAPI()
    install_error_handlers(app)
    add_routes(app, store.router())
    server = ThreadedServer(app)
    store.base_url = server.base_url  # known only now, like the embedded backend
    server.start()
    try:
        yield LocalStoreServer(store, server)
    finally:
        server.stop()
