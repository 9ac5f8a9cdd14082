"""Building our engine and the reference client against a benchmark stack."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import Stack
from bench.reference_flow import ReferenceClient
from gui.engine.api_client import ApiClient
from gui.engine.convex_gateway import ConvexGateway
from gui.engine.engine import GenerationEngine
from gui.engine.journal import Journal
from gui.engine.tokens import StaticTokenProvider

QUEUED_MODEL = "img-nano-banana"  # a queued model with a quick 1024x1024 render
# A sync model: the flow up to the generate call is the same, and nothing is polled after,
# so rounds that only measure the way to the generate call stay short.
SYNC_MODEL = "img-imagen4-preview"


def make_engine(stack: Stack, work_dir: Path, token: str) -> GenerationEngine:
    tokens = StaticTokenProvider(token)
    api = ApiClient(stack.api_url, tokens)
    gateway = ConvexGateway(stack.convex_url, tokens)
    journal = Journal(work_dir / "journal.sqlite3")
    return GenerationEngine(api, gateway, journal)


async def close_engine(engine: GenerationEngine) -> None:
    await engine.wait_idle()
    await engine.close()
    await engine.api.aclose()
    await engine.gateway.aclose()
    engine.journal.close()


def make_reference(stack: Stack, token: str) -> ReferenceClient:
    return ReferenceClient(stack.api_url, stack.convex_url, token)


_DURATION_TAG = re.compile(r"\[dur ([0-9.]+)\]")


@dataclass
class JobDurations:
    """Per-job durations for the local provider, read from a ``[dur S]`` tag in the prompt.

    The provider fixes a job's timing when it is submitted from its ``queue_s``/``run_s``;
    this wraps its ``submit`` (benchmark-side only) to set them per job, and remembers each
    job's due time (wall clock) so lag can be measured from the moment the job finished.
    """

    queue_share: float = 0.3
    due_by_prompt: dict[str, float] = field(default_factory=dict)
    prompt_by_job: dict[str, str] = field(default_factory=dict)

    def install(self, provider: Any) -> Callable[[], None]:
        original = provider.submit

        async def submit(request: Any) -> Any:
            match = _DURATION_TAG.search(request.prompt)
            if match is not None:
                total = float(match.group(1))
                # Set and read synchronously before the first await inside submit, so
                # concurrent submissions cannot see each other's values.
                provider.queue_s = total * self.queue_share
                provider.run_s = total - provider.queue_s
            result = await original(request)
            if result.job_id is not None:
                job = await asyncio.to_thread(provider.jobs.get, result.job_id)
                self.due_by_prompt[request.prompt] = job.due_at
                self.prompt_by_job[result.job_id] = request.prompt
            return result

        provider.submit = submit

        def uninstall() -> None:
            provider.submit = original

        return uninstall


def now() -> float:
    """The clock the latency proxy reports in (CLOCK_MONOTONIC, shared by processes)."""
    return time.monotonic()
