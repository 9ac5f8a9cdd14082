"""A generation's first steps, before anything costs: validate with the catalog's rules,
open its journal row, upload its attachments, and choose its path - the one-call path
(a fresh idempotency key in the body) when the backend settles money itself, else the
seed's flow. The body to send is journaled (``uploaded:end``) before any generate call."""

from __future__ import annotations

from collections.abc import Callable

from catalog import InvalidGenerationInput, normalize, validate
from gui.engine.capabilities import BackendFeatures
from gui.engine.events import Phase
from gui.engine.failures import EngineFailure
from gui.engine.flow import GenerationRun
from gui.engine.journal import Journal
from gui.engine.server_flow import keyed_body, new_key
from gui.engine.uploads import Uploader

Progress = Callable[[GenerationRun, Phase, str], None]


async def prepare(
    run: GenerationRun,
    journal: Journal,
    uploader: Uploader,
    features: BackendFeatures,
    progress: Progress,
) -> None:
    req = run.request
    progress(run, Phase.VALIDATING, "Checking…")
    body = req.validation_body()
    problems = validate(body)
    if problems:
        raise EngineFailure(" ".join(p.message for p in problems), problems[0].code, False)
    try:
        normalized = normalize(body)
        run.amount = normalized.cost
    except (InvalidGenerationInput, ValueError) as exc:
        raise EngineFailure(str(exc), "invalid_request", False) from exc
    journal.create(run.local_id, req.to_json())
    run.journaled = True
    urls: list[str] = []
    if req.attachments:
        n = len(req.attachments)

        def uploading(done: int) -> None:  # the tile reads "Uploading 2/3"
            if done < n:
                progress(run, Phase.UPLOADING, f"Uploading {done + 1}/{n}")

        progress(run, Phase.UPLOADING, "Uploading image…" if n == 1 else f"Uploading 1/{n}")
        urls = await uploader.upload_all(run.local_id, req.attachments, uploading)
    run.body = normalized.to_body()
    if urls:
        run.body["attachmentImages"] = [{"url": u} for u in urls]
    # The probe started with the engine (or this submit): its verdict is normally known.
    if await features.server_billing():
        run.body = keyed_body(run.body, new_key(), run.session_id, req.prompt)
    journal.end(
        run.local_id, "uploaded", body=run.body, amount=run.amount, session_id=run.session_id
    )
