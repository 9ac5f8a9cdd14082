"""The seed's rollout set through the real engine against the real embedded backend."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from backend.convex_host.tables import users
from backend.server import EmbeddedBackend
from catalog import Options, cost
from gui.engine.events import (
    CreditsChanged,
    GenerationCompleted,
    GenerationProgress,
    Phase,
    UploadProgress,
)
from gui.engine.request import EngineRequest
from tests.integration.engine_support import engine_for, image_bytes


async def test_imagen4_sync_generation_completes(backend: EmbeddedBackend, tmp_path: Path) -> None:
    async with engine_for(backend, tmp_path) as h:
        before = await h.breakdown()
        done = await h.run(
            EngineRequest(
                prompt="a red fox", options=Options("img-imagen4-preview", aspect_ratio="16:9")
            )
        )
        assert isinstance(done, GenerationCompleted), done
        assert len(done.image_urls) == 1
        assert h.fetch(done.image_urls[0]).size == (1408, 768)
        after = await h.breakdown()
        assert before.total - after.total == cost("img-imagen4-preview", 1)
        assert after.reserved == 0
        gens = await h.gateway.get_session_generations(done.session_id or "")
        assert [g.image_urls for g in gens] == [list(done.image_urls)]
        assert not gens[0].is_loading
        assert h.invariants() == []


def _reserved_now(backend: EmbeddedBackend, user_id: str) -> float:
    with backend.app.state.convex_db.read() as conn:
        reserved = conn.execute(
            select(users.c.reservedCredits).where(users.c.subject == user_id)
        ).scalar_one()
    return float(reserved)


async def test_nano_banana_queued_goes_through_queue(
    backend: EmbeddedBackend, tmp_path: Path
) -> None:
    async with engine_for(backend, tmp_path) as h:
        done = await h.run(EngineRequest(prompt="a lighthouse", options=Options("img-nano-banana")))
        assert isinstance(done, GenerationCompleted), done
        phases = [e.phase for e in h.events if isinstance(e, GenerationProgress)]
        assert Phase.QUEUED in phases and phases[-1] == Phase.SAVING
        # The real queue position shows at once, not only after the first long poll.
        details = [e.detail for e in h.events if isinstance(e, GenerationProgress)]
        assert details[details.index("In queue…") + 1] == "In queue #1"
        gens = await h.gateway.get_session_generations(done.session_id or "")
        assert gens[0].external_request_id  # saved for resume
        assert gens[0].image_urls == list(done.image_urls)
        assert h.fetch(done.image_urls[0]).size == (1024, 1024)
        assert h.invariants() == []


async def test_seedream_edit_with_several_images(backend: EmbeddedBackend, tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(image_bytes((3000, 1000), "JPEG"))
    sources = (photo, (image_bytes((40, 40), color="red"), "red.png"), photo)
    async with engine_for(backend, tmp_path) as h:
        done = await h.run(
            EngineRequest(
                prompt="merge these",
                options=Options("img-seedream-v45-edit", num_images=2),
                attachments=sources,
            )
        )
        assert isinstance(done, GenerationCompleted), done
        assert len(done.image_urls) == 2
        # The same file twice is uploaded once; every index reported its progress.
        assert h.engine.uploader.upload_count == 2
        finished = {
            e.index for e in h.events if isinstance(e, UploadProgress) and e.sent == e.total
        }
        assert finished == {0, 1, 2}
        # The tile counts the files as they go up.
        statuses = [
            e.detail
            for e in h.events
            if isinstance(e, GenerationProgress) and e.phase == Phase.UPLOADING
        ]
        assert statuses == ["Uploading 1/3", "Uploading 2/3", "Uploading 3/3"]
        row = h.engine.journal.all()[0]
        urls = [a["url"] for a in (row.body or {})["attachmentImages"]]
        assert len(urls) == 3 and urls[0] == urls[2] != urls[1]
        # Downscaled to the 2048 long edge before upload.
        assert h.fetch(urls[0]).size == (2048, 683)
        assert h.invariants() == []


async def test_kling_o1_with_image_reference(backend: EmbeddedBackend, tmp_path: Path) -> None:
    async with engine_for(backend, tmp_path) as h:
        done = await h.run(
            EngineRequest(
                prompt="@Image1 as a watercolor",
                options=Options("img-kling-o1", aspect_ratio="3:2", resolution="1K"),
                attachments=((image_bytes(), "ref.png"),),
            )
        )
        assert isinstance(done, GenerationCompleted), done
        bad = await h.run(
            EngineRequest(
                prompt="@Image2 as a watercolor",
                options=Options("img-kling-o1"),
                attachments=((image_bytes(), "ref.png"),),
            )
        )
        assert not isinstance(bad, GenerationCompleted)
        assert "@Image2" in getattr(bad, "message", "")
        assert h.invariants() == []


async def test_gpt_image_15_high_reserves_and_captures_exact_cost(
    backend: EmbeddedBackend, tmp_path: Path
) -> None:
    seen_reserved: list[float] = []
    async with engine_for(backend, tmp_path) as h:

        def watch(event: object) -> None:
            if isinstance(event, GenerationProgress) and event.phase == Phase.QUEUED:
                seen_reserved.append(_reserved_now(backend, h.user_id))

        h.engine.events.subscribe(watch)
        before = await h.breakdown()
        done = await h.run(
            EngineRequest(
                prompt="a teapot",
                options=Options(
                    "img-gpt-image-1-5", aspect_ratio="4:3", num_images=2, quality="high"
                ),
            )
        )
        assert isinstance(done, GenerationCompleted), done
        assert seen_reserved and seen_reserved[0] == 16 * 2
        # The header learns of the reservation while the job runs, then of the charge.
        credits = [e for e in h.events if isinstance(e, CreditsChanged)]
        assert credits[0].reserved == 32 and credits[0].available == before.available - 32
        after = await h.breakdown()
        assert before.total - after.total == 16 * 2
        assert h.fetch(done.image_urls[0]).size == (1536, 1024)
        assert h.invariants() == []
