"""Polling a queued job to its end.

Long poll (``wait``) when the backend supports it: the answer comes the moment the job
finishes. A backend that ignores ``wait`` answers at once; after two such quick answers
(or a 400 for the parameter) the poller switches to the web's policy: 1 s, x1.5, at most
10 s between polls. Either way a hard deadline ends it. Network errors and 429/5xx retry
with backoff (initial_s, x factor, at most max_s) until that deadline, however long the
outage: the job was accepted and may finish meanwhile, and giving up would lose its images.
A 401 has already been retried once with a fresh token by the ApiClient; any other 4xx
fails at once with the server's sentence.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gui.engine.api_client import ApiClient, BackendError, JobStatus


@dataclass(frozen=True)
class PollPolicy:
    initial_s: float = 1.0
    factor: float = 1.5
    max_s: float = 10.0
    deadline_s: float = 15 * 60.0
    long_poll_s: float = 5.0  # short enough that the tile's phase/position stays current
    # The backoff grows over at most this many consecutive failures (and never beyond
    # max_s). It never ends the poll: only deadline_s does (a job outlives an outage).
    max_network_retries: int = 8


class PollTimeout(BackendError):
    def __init__(self, deadline_s: float) -> None:
        minutes = deadline_s / 60
        span = f"{minutes:g} minute{'s' if minutes != 1 else ''}"
        if deadline_s < 60:
            span = f"{deadline_s:g} seconds"
        super().__init__(
            0, "timeout", f"The generation did not finish within {span}; nothing was charged."
        )


Sleep = Callable[[float], Awaitable[None]]


class Poller:
    """Polls with one ApiClient; remembers whether that backend honours ``wait``."""

    def __init__(
        self,
        api: ApiClient,
        policy: PollPolicy | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.policy = policy or PollPolicy()
        self.supports_wait: bool | None = None  # None: not known yet
        self._quick_answers = 0
        self._sleep = sleep
        self._clock = clock

    async def _status_once(self, request_id: str, model_id: str) -> tuple[JobStatus, bool]:
        """One status call; returns (status, whether it was a real long poll)."""
        if self.supports_wait is False:
            return await self.api.status(request_id, model_id), False
        wait = self.policy.long_poll_s
        started = self._clock()
        try:
            status = await self.api.status(request_id, model_id, wait=wait)
        except BackendError as exc:
            if exc.status in (400, 422) and self.supports_wait is None:
                self.supports_wait = False  # the deployment rejects the parameter
                return await self.api.status(request_id, model_id), False
            raise
        if status.long_poll is not None:
            self.supports_wait = status.long_poll
            return status, status.long_poll
        if status.terminal or self._clock() - started >= wait * 0.5:
            self._quick_answers = 0
            if not status.terminal:
                self.supports_wait = True
            return status, True
        # A non-terminal answer long before `wait`: this backend may ignore it.
        self._quick_answers += 1
        if self._quick_answers >= 2 and self.supports_wait is None:
            self.supports_wait = False
        return status, False

    async def poll(
        self,
        request_id: str,
        model_id: str,
        on_status: Callable[[JobStatus], None] | None = None,
    ) -> tuple[str, ...]:
        """Images of the finished job; raises BackendError (or PollTimeout) otherwise."""
        policy = self.policy
        deadline = self._clock() + policy.deadline_s
        delay = policy.initial_s
        failures = 0
        while True:
            if self._clock() >= deadline:
                raise PollTimeout(policy.deadline_s)
            try:
                status, waited = await self._status_once(request_id, model_id)
            except BackendError as exc:
                if not exc.retryable:
                    raise
                failures = min(failures + 1, policy.max_network_retries)
                backoff = min(policy.max_s, policy.initial_s * policy.factor**failures)
                wait = max(backoff, exc.retry_after or 0.0)
                await self._sleep(min(wait, max(0.0, deadline - self._clock())))
                continue
            failures = 0
            if on_status is not None:
                on_status(status)
            if status.state == "completed":
                if not status.images:
                    raise BackendError(502, "no_images", "The generation finished without images.")
                return status.images
            if status.state == "failed":
                raise BackendError(
                    502, "generation_failed", status.error or "The generation failed."
                )
            if waited:
                continue  # the server already waited; ask again at once
            await self._sleep(min(delay, max(0.0, deadline - self._clock())))
            delay = min(policy.max_s, delay * policy.factor)
