"""Which reference images each edit was made from, kept on this machine. Qt-free.

A generation's Convex row keeps its prompt, model and results but not the references it
was sent with (the real deployment's row has no such field), and the journal keeps only
the newest settled runs. So when a run completes, its uploaded reference URLs (the
journaled request body's ``attachmentImages``) are written here, under both its local id
and its Convex generation id, for the carousel's before-and-after view.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from gui.engine.events import EngineEvent, GenerationCompleted
from gui.engine.journal import Journal

_SCHEMA = """
CREATE TABLE IF NOT EXISTS edit_references (
    id TEXT PRIMARY KEY,
    urls_json TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""
# SQLite's default limit on host parameters is 999 on older builds; lookups go in chunks.
_CHUNK = 500


class EditReferences:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        with contextlib.closing(self._db.cursor()) as cur:
            cur.executescript(_SCHEMA)
        self._db.commit()

    def record(self, ids: Iterable[str | None], urls: Iterable[str]) -> None:
        """Remember ``urls`` as the references of the generation known by ``ids``."""
        kept = [u for u in urls if u]
        names = sorted({i for i in ids if i})
        if not kept or not names:
            return
        now = time.time()
        payload = json.dumps(kept)
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO edit_references (id, urls_json, created_at) "
                "VALUES (?, ?, ?)",
                [(name, payload, now) for name in names],
            )

    def lookup(self, ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """The references of each of ``ids`` that has any (edits only)."""
        wanted = sorted({i for i in ids if i})
        found: dict[str, tuple[str, ...]] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT id, urls_json FROM edit_references WHERE id IN ({marks})", chunk
            )
            for name, urls_json in rows:
                found[name] = tuple(json.loads(urls_json))
        return found

    def follow(
        self, subscribe: Callable[[Callable[[EngineEvent], None]], object], journal: Journal
    ) -> None:
        """Record every completed run's references from its journal row (still there when
        the completion is published: the journal compacts only older settled rows)."""

        def on_event(event: EngineEvent) -> None:
            if not isinstance(event, GenerationCompleted):
                return
            row = journal.get(event.local_id)
            body = row.body if row is not None else None
            images = (body or {}).get("attachmentImages") or []
            urls = [a.get("url", "") for a in images if isinstance(a, dict)]
            self.record((event.local_id, event.generation_id), urls)

        subscribe(on_event)

    def close(self) -> None:
        self._db.close()
