"""Rehosted outputs of finished queued jobs, remembered per job in SQLite.

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
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from backend.private_files import private_sqlite
from backend.stored_image import StoredImage, stored_images

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rehosted (
    job_key TEXT PRIMARY KEY,
    urls TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


def job_key(provider: str, provider_request_id: str) -> str:
    """One key per provider job, whichever signed request id named it."""
    return hashlib.sha256(f"{provider}\x00{provider_request_id}".encode()).hexdigest()


class ResultsCache:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        private_sqlite(self.path)  # 0600 in a 0700 folder, before SQLite creates it
        self._locks: dict[str, asyncio.Lock] = {}
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        # A connection per call: calls are rare and tiny, and this is safe from any thread.
        return sqlite3.connect(self.path, timeout=10.0)

    def _get(self, key: str) -> list[StoredImage] | None:
        with self._connect() as conn:
            row = conn.execute("SELECT urls FROM rehosted WHERE job_key = ?", (key,)).fetchone()
        return None if row is None else stored_images(json.loads(row[0]))

    def _put(self, key: str, images: Sequence[StoredImage | str]) -> list[StoredImage]:
        """Store ``images`` unless another process got there first; returns the winner."""
        wanted = stored_images(images)
        with self._connect() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO rehosted (job_key, urls, created_at) VALUES (?, ?, ?)",
                (key, json.dumps([i.to_json() for i in wanted]), time.time()),
            )
        stored = self._get(key)
        return wanted if stored is None else stored

    async def get(self, key: str) -> list[StoredImage] | None:
        return await asyncio.to_thread(self._get, key)

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
                return await asyncio.to_thread(self._put, key, images)
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                self._locks.pop(key, None)
