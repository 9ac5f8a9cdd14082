"""The sweeper: settles what no client will settle (docs/billing.md, "Who settles").

Every ``settle_sweep_interval_s`` it looks at the unsettled holds:

* a queued job nobody polls any more (not submitted or polled in this process for
  ``poll_grace_s``) is asked about, and settled when it ended;
* a queued job past ``job_deadline_s`` is cancelled at the provider and settled cancelled;
* a hold still ``holding`` whose server process stopped beating (it died mid-call) is
  settled failed; so is one past every limit of a sync call.

Several server processes may sweep the same database: settlement is one guarded
transaction, so the first one wins and the others change nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from backend.billing.holds import Hold, seconds_since
from backend.billing.job_states import cancel_hold, claims_of, resolve_orphan, settle_job_state
from backend.billing.service import Billing
from backend.errors import ApiError
from backend.providers.base import ProviderError
from catalog import MODELS

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(
        self, app: Any, interval_s: float, sync_work_limit_s: float, job_deadline_s: float
    ):
        self.app = app
        self.interval_s = interval_s
        self.sync_work_limit_s = sync_work_limit_s
        self.job_deadline_s = job_deadline_s
        self._task: asyncio.Task[None] | None = None

    @property
    def billing(self) -> Billing:
        billing: Billing = self.app.state.billing
        return billing

    def start(self) -> None:
        if self.interval_s > 0 and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="billing-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.sweep()
            except Exception:  # one bad round must not end the sweeping
                log.exception("billing sweep failed")

    async def sweep(self) -> int:
        """One pass; returns how many holds it settled."""
        settled = 0
        for hold in await self.billing.unsettled():
            try:
                if await self._sweep_one(hold):
                    settled += 1
            except (ProviderError, httpx.HTTPError, ApiError) as exc:
                log.info("sweep of hold %s: provider not ready (%s)", hold.id, exc)
        return settled

    async def _sweep_one(self, hold: Hold) -> bool:
        age = seconds_since(hold.created_at)
        if hold.state == "holding":
            if await self.billing.orphaned(hold):
                # Its server died mid-call: adopt the job it started, or release the hold.
                await resolve_orphan(self.app.state, hold)
                return True
            if not self.billing.running(hold.id) and age > self.sync_work_limit_s + 60:
                await self.billing.release_orphan(hold)  # a safety net
                return True
            return False
        if age > self.job_deadline_s:
            return (await cancel_hold(self.app.state, hold)).settled
        if self.billing.polled_recently(hold.job_key):
            # Its client is polling: the status route settles it. (Asking the provider
            # about every job each round kept a loaded server busy with sweeps alone.)
            return False
        claims = claims_of(self.app.state, hold)
        model = MODELS.get(claims.model_id) if claims else None
        if claims is None or model is None:
            return False
        provider = self.app.state.providers.by_name(claims.provider)
        state = await provider.status(model, claims.provider_request_id)
        await self.billing.mark_checked(hold)
        after = await settle_job_state(self.app.state, claims, state)
        return bool(after is not None and after.settled)
