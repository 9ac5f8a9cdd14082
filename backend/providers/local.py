"""The local provider: real Pillow images for every model, with no account and no key.

Sync models render during ``submit`` and hand the bytes back (the route layer rehosts
them). Queued models get a job in a SQLite table (:mod:`local_queue`) whose timing and
outcome are fixed at submission; the first status call after the job is due renders its
images once, stores them in the object store and keeps their URLs in the job row, so
later calls (and a restarted backend) answer from the row.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from backend.image_work_pool import ImageWorkPool, WorkNotWanted
from backend.providers.base import (
    JobState,
    ProviderError,
    ProviderImage,
    ProviderRequest,
    SubmitResult,
)
from backend.providers.local_queue import CANCELLED, JobQueue, JobRow
from backend.providers.local_render import output_content_type, render_image
from backend.providers.local_render_job import (
    Rendered,
    RenderSpec,
    WorkerRender,
    render_in_pool,
    render_in_worker,
)
from backend.storage.notify import JOB, InProcessNotifier, Notifier
from backend.storage.offload import DatabaseCalls
from backend.store.base import ObjectStore, new_key
from catalog import MODELS, ModelSpec
from catalog.image_variants import VARIANT_CONTENT_TYPE, variant_key
from catalog.sizes import output_size_info

log = logging.getLogger(__name__)

_TERMINAL = ("COMPLETED", "FAILED")
# How long wait() naps, in-process, when the job is due but another process is still
# rendering it (no wake-up crosses processes then); cross-process, the notifier's recheck.
_RECHECK_S = 0.05
# Wake this long after the due time so the clock has certainly passed it.
_WAKE_MARGIN_S = 0.005


def _not_found() -> ProviderError:
    return ProviderError("This job was not found.", code="job_not_found", status=404)


def _attachment_missing() -> ProviderError:
    return ProviderError(
        "An attached image could not be found on this server; please attach it again.",
        code="attachment_not_found",
        status=400,
    )


def _request_dict(request: ProviderRequest) -> dict[str, Any]:
    model = request.model
    return {
        "prompt": request.prompt,
        "model": model.id,
        "aspect_ratio": request.aspect_ratio,
        "num_images": max(1, min(request.num_images, model.max_images)),
        "resolution": request.resolution,
        "quality": request.quality,
        "attachment_urls": list(request.attachment_urls),
        "reference": request.reference,
    }


class LocalProvider:
    """Implements :class:`backend.providers.base.Provider`, plus :meth:`wait`.

    With ``image_work`` (the server's process pool) images are rendered in worker processes:
    a sync model's ahead of the queue (its generate call waits), a queued job's in the
    background with its variants; without it (tests, tools) in threads, as before.
    """

    name = "local"
    # What a worker runs per image; tests replace it (e.g. with a worker that crashes).
    render_in_worker: WorkerRender = staticmethod(render_in_worker)

    def __init__(
        self,
        store: ObjectStore,
        db_path: Path | str,
        *,
        queue_s: float,
        run_s: float,
        fail_rate: float = 0.0,
        fail_prompts: Sequence[str] = ("[fail]",),
        sync_s: float = 0.0,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        image_work: ImageWorkPool | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.store = store
        # Wakes long polls when a job changes, in this process or (PostgreSQL/Redis) any.
        self.notifier = notifier or InProcessNotifier()
        self.image_work = image_work
        self.sync_s = sync_s
        self.queue_s = queue_s
        self.run_s = run_s
        self.fail_rate = fail_rate
        self.fail_prompts = tuple(p.lower() for p in fail_prompts if p)
        self._clock = clock
        self._rng = rng or random.Random()
        self.jobs = JobQueue(db_path, clock, on_change=self._job_changed)
        self._jobs_call = DatabaseCalls(self.jobs.engine)  # inline on SQLite
        # One lock per job being finished, so concurrent status calls render it once.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # Renders survive a cancelled status call (client hung up); keep them referenced,
        # by job, so a later call in this process joins the render instead of waiting.
        self._renders: dict[str, asyncio.Task[JobState]] = {}

    # -- Provider ---------------------------------------------------------------------
    async def submit(self, request: ProviderRequest) -> SubmitResult:
        fields = _request_dict(request)
        reason = self._failure_reason(request.prompt)
        if request.model.call_type == "sync":
            if self.sync_s > 0:
                await asyncio.sleep(self.sync_s)
            if reason is not None:
                raise ProviderError(reason, code="provider_failed")
            attachments = await self._read_attachments(fields["attachment_urls"])
            rendered = await self._render_all(request.model, fields, attachments)
            return SubmitResult(
                images=tuple(
                    ProviderImage(data=r.data, content_type=r.content_type) for r in rendered
                )
            )
        # Keys, not URLs, go in the row: the embedded server's port (and so every URL)
        # may differ after a restart, while keys stay valid.
        keys = [self.store.key_for_url(url) for url in fields["attachment_urls"]]
        if any(key is None for key in keys):
            raise _attachment_missing()
        fields["attachment_keys"] = keys
        job = await self._jobs_call(
            self.jobs.create,
            request.model.id,
            fields,
            queue_s=self.queue_s,
            run_s=self.run_s,
            fail_reason=reason,
        )
        return SubmitResult(job_id=job.id)

    async def find_job(self, model: ModelSpec, reference: str) -> str | None:
        return await self._jobs_call(self.jobs.find_by_reference, reference)

    async def status(self, model: ModelSpec, job_id: str) -> JobState:
        state, _ = await self._status(job_id)
        return state

    async def wait(self, model: ModelSpec, job_id: str, timeout_s: float) -> JobState:
        """The job's state as soon as it is terminal, or when ``timeout_s`` has passed.

        Sleeps straight to the job's due time (known from its row) instead of polling, and
        wakes at once when the job changes: cancelled, rendered or failed, by this process
        or (with a cross-process notifier) another. A wake-up that never comes costs at
        most the notifier's recheck interval (the safety net).
        """
        deadline = time.monotonic() + max(0.0, timeout_s)
        # Listening before each read: a change between the read and the nap is not lost.
        async with self.notifier.listen(JOB, job_id) as changed:
            while True:
                state, job = await self._status(job_id, deadline)
                remaining = deadline - time.monotonic()
                if state.status in _TERMINAL or remaining <= 0:
                    return state
                until_due = job.due_at - self._clock()
                if until_due > 0:  # to the due time, or the safety net's recheck if sooner
                    nap = min(until_due + _WAKE_MARGIN_S, self.notifier.recheck(math.inf))
                else:  # due, and rendered elsewhere: its end wakes us
                    nap = self.notifier.recheck(_RECHECK_S)
                await changed.wait(min(remaining, nap))

    async def cancel(self, model: ModelSpec, job_id: str) -> bool:
        """Cancel a queued or running job: it never completes, status says FAILED "Cancelled."
        True if it was unfinished; False if it had already finished (or is unknown)."""
        return await self._jobs_call(self.jobs.cancel, job_id)

    def _job_changed(self, job_id: str) -> None:
        """The queue committed a change to ``job_id`` (on the loop on SQLite, from a worker
        thread on PostgreSQL): wake its long polls here and, cross-process, everywhere."""
        self.notifier.publish_threadsafe(JOB, job_id)

    async def aclose(self) -> None:
        """Shutdown: stop renewing render claims (a cancelled render released its own)."""
        self.jobs.close()

    # -- internals --------------------------------------------------------------------
    def _failure_reason(self, prompt: str) -> str | None:
        lowered = prompt.lower()
        if any(marker in lowered for marker in self.fail_prompts):
            return (
                "The provider could not generate this image: "
                "the prompt asked for a simulated failure."
            )
        if self.fail_rate > 0 and self._rng.random() < self.fail_rate:
            return "The provider could not generate this image: a simulated provider error."
        return None

    async def _read_attachments(self, urls: Sequence[str]) -> list[bytes]:
        keys = [self.store.key_for_url(url) for url in urls]
        if any(key is None for key in keys):
            raise _attachment_missing()
        return await self._read_keys([k for k in keys if k is not None])

    async def _read_keys(self, keys: Sequence[str]) -> list[bytes]:
        out: list[bytes] = []
        for key in keys:
            try:
                out.append(await self.store.get(key))
            except KeyError as exc:
                raise _attachment_missing() from exc
        return out

    async def _render_all(
        self,
        model: ModelSpec,
        fields: dict[str, Any],
        attachments: list[bytes],
        job_id: str | None = None,
    ) -> list[Rendered]:
        """Render every image, in order. ``job_id`` marks a queued job's render: in the
        pool it waits behind requests' work, brings its variants along, and is dropped if
        the job was settled (cancelled) before its turn came."""
        size = output_size_info(model.id, fields["aspect_ratio"], fields["resolution"])
        width, height = size.width, size.height
        params = {
            "aspect_ratio": fields["aspect_ratio"] if model.aspect_ratios else None,
            "resolution": fields["resolution"] if model.resolutions else None,
            "quality": fields["quality"] if model.qualities else None,
        }
        total = int(fields["num_images"])
        ct = output_content_type(model.id, width, height)
        pool = self.image_work
        if pool is None:
            blobs = await asyncio.gather(
                *(
                    asyncio.to_thread(
                        render_image,
                        prompt=fields["prompt"],
                        model=model,
                        width=width,
                        height=height,
                        index=i,
                        total=total,
                        params=params,
                        attachments=attachments,
                        exact_size=size.exact,
                    )
                    for i in range(1, total + 1)
                )
            )
            return [Rendered(blob, ct, {}) for blob in blobs]
        spec = RenderSpec(
            fields["prompt"], model.id, width, height, total, params, tuple(attachments), size.exact
        )

        async def still_wanted() -> bool:
            row = await self._jobs_call(self.jobs.get, job_id) if job_id else None
            return row is not None and self._settled_state(row) is None

        made = await render_in_pool(
            pool, self.render_in_worker, spec, still_wanted if job_id is not None else None
        )
        return [Rendered(data, ct, variants) for data, variants in made]

    async def _status(self, job_id: str, deadline: float | None = None) -> tuple[JobState, JobRow]:
        """``deadline`` (time.monotonic()): a long poll's; a render still going on then
        answers IN_PROGRESS instead of holding the poll (without one, it is awaited)."""
        now = self._clock()
        job, position = await self._jobs_call(self.jobs.get_with_position, job_id, now)
        if job is None:
            raise _not_found()
        settled = self._settled_state(job)
        if settled is not None:
            return settled, job
        if position is not None:
            return JobState(status="IN_QUEUE", position=position), job
        if now < job.due_at:
            return JobState(status="IN_PROGRESS"), job
        if job.fail:
            reason = job.fail_reason or "The provider could not generate this image."
            await self._jobs_call(self.jobs.fail, job.id, reason)
            return JobState(status="FAILED", error=reason), job
        return await self._finish(job, deadline), job

    async def _finish(self, job: JobRow, deadline: float | None = None) -> JobState:
        lock = self._locks.get(job.id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[job.id] = lock
        async with lock:
            fresh = await self._jobs_call(self.jobs.get, job.id)
            assert fresh is not None
            settled = self._settled_state(fresh)
            if settled is not None:
                return settled
            task = self._renders.get(job.id)
            if task is None:
                if not await self._jobs_call(self.jobs.claim_render, job.id):
                    # Another live process is rendering it right now.
                    return JobState(status="IN_PROGRESS")
                task = asyncio.create_task(self._render_job(fresh))
                self._renders[job.id] = task
                task.add_done_callback(lambda _: self._renders.pop(job.id, None))
        if deadline is None:
            # Shielded: a caller that goes away must not leave the job half-finished.
            return await asyncio.shield(task)
        # The render may wait for a worker behind others' work: the poll answers by its
        # deadline and the render goes on (asyncio.wait never cancels it).
        done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - time.monotonic()))
        return task.result() if done else JobState(status="IN_PROGRESS")

    async def _render_job(self, job: JobRow) -> JobState:
        model = MODELS.get(job.model_id)
        try:
            if model is None:
                raise ProviderError("This model is no longer available.", code="unknown_model")
            attachments = await self._read_keys(job.request.get("attachment_keys", []))
            rendered = await self._render_all(model, job.request, attachments, job.id)
            images: list[dict[str, str]] = []
            for image in rendered:
                key, url = await self._store_rendered(image)
                images.append({"key": key, "url": url, "content_type": image.content_type})
        except WorkNotWanted:
            # Settled (cancelled) while it waited for a worker: nothing was rendered.
            settled = await self._jobs_call(self.jobs.get, job.id)
            state = self._settled_state(settled) if settled is not None else None
            return state or JobState(status="FAILED", error=CANCELLED)
        except ProviderError as exc:
            await self._jobs_call(self.jobs.fail, job.id, exc.message)
            return JobState(status="FAILED", error=exc.message)
        except asyncio.CancelledError:
            # The server is shutting down mid-render: hand the job back at once (blocking,
            # but one short UPDATE) so the next backend renders it without waiting a lease.
            self.jobs.release(job.id)
            raise
        except Exception:
            log.exception("local provider: rendering job %s failed", job.id)
            message = "The provider could not generate this image: rendering failed."
            await self._jobs_call(self.jobs.fail, job.id, message)
            return JobState(status="FAILED", error=message)
        if not await self._jobs_call(self.jobs.complete, job.id, images):
            # Settled meanwhile (cancelled): the row's outcome stands, these images do not.
            settled = await self._jobs_call(self.jobs.get, job.id)
            state = self._settled_state(settled) if settled is not None else None
            return state or JobState(status="FAILED", error=CANCELLED)
        return self._completed(images)

    async def _store_rendered(self, image: Rendered) -> tuple[str, str]:
        """The image and the variants made with it in the store; returns (key, url)."""
        key = new_key("generations", image.content_type)
        url = await self.store.put(key, image.data, image.content_type)
        await asyncio.gather(
            *(
                self.store.put(vkey, webp, VARIANT_CONTENT_TYPE)
                for edge, webp in image.variants.items()
                if (vkey := variant_key(key, edge)) is not None
            )
        )
        return key, url

    def _completed(self, images: list[dict[str, str]]) -> JobState:
        # URLs are rebuilt from keys so they carry the store's current base URL.
        return JobState(
            status="COMPLETED",
            images=tuple(
                ProviderImage(
                    url=self.store.public_url(i["key"]) if i.get("key") else i["url"],
                    content_type=i.get("content_type", "image/png"),
                )
                for i in images
            ),
        )

    def _settled_state(self, job: JobRow) -> JobState | None:
        if job.state == "completed":
            return self._completed(job.result)
        if job.state == "failed":
            error = job.error or "The image could not be generated."
            return JobState(status="FAILED", error=error)
        return None
