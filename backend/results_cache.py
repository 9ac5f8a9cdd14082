"""Rehosted outputs of finished queued jobs, remembered per job in the database (a SQLite
file by default, or the server's PostgreSQL, so every server process answers the same).

Clients poll the status route until a job completes and may ask again afterwards (a retry
after a lost answer, a resumed client). Rehosting once and answering the same URLs every
time keeps the store free of duplicates and the client's records stable. In-process locks
make concurrent polls of one job wait for the first rehost instead of racing it.

Each job's images are kept in their wire form (``{url, width?, height?, contentType?}``);
rows written before sizes were kept hold bare URLs and still read back.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from sqlalchemy import Column, Float, MetaData, Table, Text, bindparam, select

from backend.storage.engine import make_engine, read_transaction, write_transaction
from backend.storage.migrate import Schema, migrate
from backend.storage.offload import DatabaseCalls
from backend.storage.sql import insert_ignore, scalar
from backend.stored_image import StoredImage, stored_images

metadata = MetaData()
rehosted = Table(
    "rehosted",
    metadata,
    Column("job_key", Text, primary_key=True),
    Column("urls", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)
SCHEMA = Schema("results", metadata, legacy_table="rehosted")
# Asked by every poll of a finished job: built once (see storage.sql).
_URLS = select(rehosted.c.urls).where(rehosted.c.job_key == bindparam("key"))


def job_key(provider: str, provider_request_id: str) -> str:
    """One key per provider job, whichever signed request id named it."""
    return hashlib.sha256(f"{provider}\x00{provider_request_id}".encode()).hexdigest()


class ResultsCache:
    def __init__(self, db: Path | str) -> None:
        """``db``: a SQLite path or a database URL (the tables are made on first use)."""
        self._locks: dict[str, asyncio.Lock] = {}
        self.engine = make_engine(db)
        self._call = DatabaseCalls(self.engine)  # inline on SQLite (storage/offload.py)
        migrate(self.engine, SCHEMA)

    def close(self) -> None:
        self.engine.dispose()

    def _get(self, key: str) -> list[StoredImage] | None:
        with read_transaction(self.engine) as conn:
            urls = scalar(conn, _URLS, {"key": key})
        return None if urls is None else stored_images(json.loads(urls))

    def _put(self, key: str, images: Sequence[StoredImage | str]) -> list[StoredImage]:
        """Store ``images`` unless another process got there first; returns the winner."""
        wanted = stored_images(images)
        with write_transaction(self.engine) as conn:
            insert_ignore(
                conn,
                rehosted,
                {
                    "job_key": key,
                    "urls": json.dumps([i.to_json() for i in wanted]),
                    "created_at": time.time(),
                },
            )
        stored = self._get(key)
        return wanted if stored is None else stored

    async def get(self, key: str) -> list[StoredImage] | None:
        return await self._call(self._get, key)

    async def get_or_create(
        self, key: str, make: Callable[[], Awaitable[Sequence[StoredImage | str]]]
    ) -> list[StoredImage]:
        """The cached images for ``key``, running ``make`` (once per process) on a miss."""
        cached = await self.get(key)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                cached = await self.get(key)
                if cached is not None:
                    return cached
                images = await make()
                return await self._call(self._put, key, images)
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                self._locks.pop(key, None)
