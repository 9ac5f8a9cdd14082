"""Completion lag: job finished on the backend -> images known to the client.

50 queued jobs of mixed durations (2 to 40 s, spread evenly, shuffled) run at once through
our engine, then the same 50 through the reference flow. A job "finishes" at its due time in
the local provider (fixed at submission); the engine knows the images when it publishes the
SAVING phase (the status call returned them), the reference when its poll returns them.
Status requests are counted per job at the proxy (requests name their job by requestId).
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs

from bench.clients import QUEUED_MODEL, JobDurations, close_engine, make_engine, make_reference
from bench.harness import Result, Stack, percentile
from catalog import Options
from gui.engine.events import (
    EngineEvent,
    GenerationFailed,
    GenerationProgress,
    GenerationStarted,
    Phase,
)
from gui.engine.request import EngineRequest

STATUS_PATH = "/api/generate-images/status"
TARGET_P95_MS = 250.0


def durations(n: int, low: float, high: float, seed: int = 8) -> list[float]:
    spread = [low + (high - low) * i / max(1, n - 1) for i in range(n)]
    random.Random(seed).shuffle(spread)
    return spread


async def _ours(
    stack: Stack, work: Path, token: str, jobs: list[float], tag: str
) -> dict[str, float]:
    """prompt -> time.time() the engine knew the images."""
    engine = make_engine(stack, work, token)
    prompt_of: dict[str, str] = {}
    known: dict[str, float] = {}
    failures: list[str] = []

    def on_event(event: EngineEvent) -> None:
        if isinstance(event, GenerationStarted):
            prompt_of[event.local_id] = event.prompt
        elif isinstance(event, GenerationProgress) and event.phase == Phase.SAVING:
            known.setdefault(prompt_of[event.local_id], time.time())
        elif isinstance(event, GenerationFailed):
            failures.append(event.message)

    engine.events.subscribe(on_event)
    try:
        for i, duration in enumerate(jobs):
            engine.submit(
                EngineRequest(
                    prompt=f"{tag} {i} [dur {duration:.2f}]", options=Options(QUEUED_MODEL)
                )
            )
        await engine.wait_idle()
    finally:
        await close_engine(engine)
    if failures:
        raise RuntimeError(f"{len(failures)} generations failed, e.g. {failures[0]}")
    return known


async def _reference(stack: Stack, token: str, jobs: list[float], tag: str) -> dict[str, float]:
    client = make_reference(stack, token)
    try:
        runs = await asyncio.gather(
            *(client.generate(f"{tag} {i} [dur {d:.2f}]", QUEUED_MODEL) for i, d in enumerate(jobs))
        )
    finally:
        await client.aclose()
    return {run.prompt: run.images_known_at for run in runs}


def _status_per_job(stack: Stack, timing: JobDurations) -> dict[str, int]:
    """prompt -> status requests the proxy saw for its job."""
    decode = stack.backend.app.state.request_ids.decode
    counts: dict[str, int] = {}
    for seen in stack.proxy.sync().requests:
        if seen.path != STATUS_PATH:
            continue
        request_id = parse_qs(seen.query).get("requestId", [""])[0]
        job_id = decode(request_id).provider_request_id
        prompt = timing.prompt_by_job[job_id]
        counts[prompt] = counts.get(prompt, 0) + 1
    return counts


def _lags_ms(known: dict[str, float], timing: JobDurations) -> list[float]:
    return [(t - timing.due_by_prompt[prompt]) * 1000 for prompt, t in known.items()]


def run(smoke: bool = False) -> list[Result]:
    n, low, high = (4, 0.3, 1.2) if smoke else (50, 2.0, 40.0)
    jobs = durations(n, low, high)
    with tempfile.TemporaryDirectory(prefix="bench-completion-") as tmp:
        work = Path(tmp)
        with Stack(work / "backend") as stack:
            timing = JobDurations()
            timing.install(stack.local_provider())
            token = stack.token()
            stack.proxy.reset_stats()
            known = asyncio.run(_ours(stack, work, token, jobs, "ours"))
            ours_status = _status_per_job(stack, timing)
            stack.proxy.reset_stats()
            ref_known = asyncio.run(_reference(stack, token, jobs, "reference"))
            ref_status = _status_per_job(stack, timing)
    ours_lag, ref_lag = _lags_ms(known, timing), _lags_ms(ref_known, timing)
    ours_p95, ref_p95 = percentile(ours_lag, 95), percentile(ref_lag, 95)
    ours_req = sum(ours_status.values()) / n
    ref_req = sum(ref_status.values()) / n
    worse = sum(
        1 for p, c in ours_status.items() if c > ref_status.get(p.replace("ours", "reference"), 0)
    )
    return [
        Result(
            name=f"Completion lag p95 ({n} jobs, {low:g}-{high:g} s)",
            ours=ours_p95,
            reference=ref_p95,
            unit="ms",
            target=f"<= {TARGET_P95_MS:.0f} ms",
            passed=len(known) == n and ours_p95 <= TARGET_P95_MS,
            note=f"median ours {percentile(ours_lag, 50):.0f} ms, reference "
            f"{percentile(ref_lag, 50):.0f} ms",
        ),
        Result(
            name="Status requests per job",
            ours=ours_req,
            reference=ref_req,
            unit="req",
            target="<= reference",
            passed=ours_req <= ref_req,
            note=f"{worse} of {n} jobs needed more requests than the reference's",
        ),
    ]
