"""A Convex host alone (no routes) on a real uvicorn server, for the host and gateway tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from convex.http_client import ConvexHttpClient
from fastapi import FastAPI

from backend.app import add_routes
from backend.auth.dev_keys import DevKeyPair
from backend.auth.verifier import JwtVerifier
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.router import build_convex_router
from backend.errors import install_error_handlers
from backend.runner import ThreadedServer


@dataclass
class Host:
    url: str  # the Convex URL: {base}/convex
    keys: DevKeyPair
    db: ConvexDatabase

    def client(self, sub: str | None = None) -> ConvexHttpClient:
        """The official client, signed in as ``sub`` when given."""
        client = ConvexHttpClient(self.url)
        if sub is not None:
            client.set_auth(self.keys.issue_token(sub, ttl_s=60))
        return client


@contextmanager
def convex_host(
    root: Path, *, starting_credits: int, slot_limit: int, database: str | None = None
) -> Iterator[Host]:
    """The host's keys in ``root``; its tables in ``database`` (a URL) if given, else in
    ``root/convex.sqlite3`` as the embedded backend keeps them."""
    keys = DevKeyPair.load_or_create(root)
    db = ConvexDatabase(
        database or root / "convex.sqlite3",
        starting_credits=starting_credits,
        slot_limit=slot_limit,
    )
    app = FastAPI()
    install_error_handlers(app)
    app.state.verifier = JwtVerifier.from_dev_keys(keys)
    add_routes(app, build_convex_router(db, prefix="/convex"))
    try:
        with ThreadedServer(app) as server:
            yield Host(server.base_url + "/convex", keys, db)
    finally:
        db.close()
