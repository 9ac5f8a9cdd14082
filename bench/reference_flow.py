"""The reference: the web/mobile client's behaviour as the seed describes it, over our backend.

Every step waits for the one before it: raw attachment files are uploaded three at a time
(presign + PUT of the original bytes, no downscaling), then the slot, the credit reservation,
the session, the loading row and finally the generate call, one after another; the generate
call names the slot (``concurrencySlotId``: the server binds the reservation to it, and
refuses a request without one, docs/billing.md). A queued
job is then polled with the web policy: first after 1 s, each wait 1.5x longer, at most
10 s, no long poll. Then the images are saved, the credits captured and the slot completed.

It uses the product's HTTP transports (ApiClient, ConvexGateway) on purpose: the comparison
is between the two *flows*, not between two HTTP client implementations.
"""

from __future__ import annotations

import asyncio
import mimetypes
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from catalog import MODELS, normalize
from gui.engine.api_client import ApiClient, BackendError
from gui.engine.convex_gateway import ConvexGateway
from gui.engine.resolve import session_title
from gui.engine.tokens import StaticTokenProvider

UPLOAD_CONCURRENCY = 3
POLL_INITIAL_S = 1.0
POLL_FACTOR = 1.5
POLL_MAX_S = 10.0
POLL_DEADLINE_S = 15 * 60.0


@dataclass
class ReferenceRun:
    prompt: str
    images: tuple[str, ...] = ()
    request_id: str | None = None
    generation_id: str | None = None
    session_id: str | None = None
    status_requests: int = 0
    images_known_at: float = 0.0  # time.time() when the poll returned the images


class ReferenceClient:
    def __init__(self, api_url: str, convex_url: str, token: str) -> None:
        tokens = StaticTokenProvider(token)
        self.api = ApiClient(api_url, tokens)
        self.convex = ConvexGateway(convex_url, tokens)

    async def aclose(self) -> None:
        await self.api.aclose()
        await self.convex.aclose()

    async def upload_raw(self, paths: Sequence[Path]) -> list[str]:
        """The original files, three at a time, as the mobile app does."""
        gate = asyncio.Semaphore(UPLOAD_CONCURRENCY)

        async def one(path: Path) -> str:
            async with gate:
                data = await asyncio.to_thread(path.read_bytes)
                content_type = mimetypes.guess_type(path.name)[0] or "image/jpeg"
                presigned = await self.api.presign(content_type, len(data))
                await self.api.upload(presigned, data, content_type)
                return presigned.public_url

        return list(await asyncio.gather(*(one(p) for p in paths)))

    async def generate(
        self,
        prompt: str,
        model: str,
        *,
        aspect_ratio: str | None = None,
        num_images: int = 1,
        attachments: Sequence[Path] = (),
        session_id: str | None = None,
        on_status: Callable[[int], None] | None = None,
        on_step: Callable[[str], None] | None = None,
    ) -> ReferenceRun:
        """One generation, every step after the previous one; returns when images are saved.

        ``on_step(name)`` is called as each step completes: uploaded, slot, credits,
        session, loading_row, generate, images, saved.
        """
        run = ReferenceRun(prompt=prompt, session_id=session_id)
        step = on_step or (lambda _name: None)
        urls = await self.upload_raw(attachments) if attachments else []
        step("uploaded")
        body_in = {"prompt": prompt, "model": model, "numImages": num_images}
        if aspect_ratio:
            body_in["aspectRatio"] = aspect_ratio
        normalized = normalize(body_in)
        body = normalized.to_body()
        if urls:
            body["attachmentImages"] = [{"url": u} for u in urls]
        amount = normalized.cost

        slot = await self.convex.acquire_generation_slot(prompt[:500])
        if not slot.ok or not slot.generation_id:
            raise RuntimeError(f"reference flow: no slot ({slot.reason})")
        step("slot")
        reserved = await self.convex.reserve_credits(amount)
        if not reserved.success:
            raise RuntimeError(f"reference flow: credits refused ({reserved.message})")
        step("credits")
        if run.session_id is None:
            run.session_id = await self.convex.create_session(session_title(prompt), "image")
            step("session")
        spec = MODELS[model]
        run.generation_id = await self.convex.add_generation_to_session(
            run.session_id,
            prompt=prompt,
            model=model,
            model_label=spec.label,
            aspect_ratio=body.get("aspectRatio"),
            num_images=body.get("numImages"),
            is_loading=True,
            concurrency_slot_id=slot.generation_id,
        )
        step("loading_row")
        result = await self.api.generate({**body, "concurrencySlotId": slot.generation_id})
        step("generate")
        if result.request_id:
            run.request_id = result.request_id
            await self.convex.update_generation(
                run.generation_id, external_request_id=result.request_id
            )
            run.images = await self._poll(run, model, on_status)
        else:
            run.images = result.images
        run.images_known_at = time.time()
        step("images")
        await self.convex.update_generation(
            run.generation_id, is_loading=False, images=list(run.images)
        )
        await self.convex.capture_reserved_credits(amount)
        await self.convex.update_generation_status(slot.generation_id, "completed", run.images[0])
        step("saved")
        return run

    async def _poll(
        self, run: ReferenceRun, model: str, on_status: Callable[[int], None] | None
    ) -> tuple[str, ...]:
        assert run.request_id
        delay = POLL_INITIAL_S
        deadline = time.monotonic() + POLL_DEADLINE_S
        while time.monotonic() < deadline:
            await asyncio.sleep(delay)
            delay = min(POLL_MAX_S, delay * POLL_FACTOR)
            status = await self.api.status(run.request_id, model)
            run.status_requests += 1
            if on_status is not None:
                on_status(run.status_requests)
            if status.state == "completed":
                return status.images
            if status.state == "failed":
                raise BackendError(502, "generation_failed", status.error or "failed")
        raise TimeoutError("reference flow: the job did not finish in time")
