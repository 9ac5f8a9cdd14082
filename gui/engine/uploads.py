"""Uploading a generation's attachments: prepare, presign and PUT, several in parallel.

Each file reports ``UploadProgress`` events. The same content (hash of the source bytes)
is uploaded once per engine run: later requests, even concurrent ones, reuse its URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from gui.engine.api_client import ApiClient
from gui.engine.attachments import (
    DEFAULT_LONG_EDGE,
    AttachmentSource,
    PreparedAttachment,
    prepare_attachment_async,
)
from gui.engine.events import EventBus, UploadProgress
from gui.engine.urls import local_store_url


class Uploader:
    def __init__(
        self,
        api: ApiClient,
        bus: EventBus,
        long_edge: int = DEFAULT_LONG_EDGE,
        local_base: str | None = None,
    ) -> None:
        self._api = api
        # The embedded backend's base URL: an image of our store saved under an older port
        # is sent as the current one, or the backend would refuse it as foreign.
        self._local_base = local_base
        self._bus = bus
        self._long_edge = long_edge
        # content hash -> the upload of that content (shared by concurrent callers)
        self._uploads: dict[str, asyncio.Task[str]] = {}
        self.upload_count = 0  # PUTs actually sent (tests check the dedupe with it)

    async def upload_all(
        self,
        local_id: str,
        sources: Sequence[AttachmentSource],
        on_done: Callable[[int], None] | None = None,
    ) -> list[str]:
        """Public URLs of every source, in order. Raises AttachmentError / BackendError.
        ``on_done(n)`` is called as each file is uploaded, with how many are done so far."""
        if not sources:
            return []
        prepared = await asyncio.gather(
            *(prepare_attachment_async(s, self._long_edge) for s in sources)
        )
        done = 0

        async def one(index: int, item: PreparedAttachment) -> str:
            nonlocal done
            url = await self._upload_once(local_id, index, item)
            done += 1
            if on_done is not None:
                on_done(done)
            return url

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(i, p)) for i, p in enumerate(prepared)]
        return [t.result() for t in tasks]

    async def _upload_once(self, local_id: str, index: int, item: PreparedAttachment) -> str:
        if item.url is not None:
            self._bus.publish(UploadProgress(local_id, index, 1, 1))
            return local_store_url(item.url, self._local_base)
        task = self._uploads.get(item.content_hash)
        if task is None or (task.done() and (task.cancelled() or task.exception())):
            task = asyncio.ensure_future(self._upload(local_id, index, item))
            self._uploads[item.content_hash] = task
        else:
            self._bus.publish(UploadProgress(local_id, index, len(item.data), len(item.data)))
        # shield: one caller being cancelled must not cancel an upload others await.
        return await asyncio.shield(task)

    async def _upload(self, local_id: str, index: int, item: PreparedAttachment) -> str:
        total = len(item.data)
        self._bus.publish(UploadProgress(local_id, index, 0, total))
        presigned = await self._api.presign(item.content_type, total)

        def progress(sent: int, size: int) -> None:
            self._bus.publish(UploadProgress(local_id, index, sent, size))

        await self._api.upload(presigned, item.data, item.content_type, progress)
        self.upload_count += 1
        return presigned.public_url
