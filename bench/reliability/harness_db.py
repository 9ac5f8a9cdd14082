"""The crash harness's own look at the server's state, through the storage layer, so the
same harness reads the embedded SQLite file or a shared PostgreSQL database.

Two questions only, both read-only: is a sync model's generate call at the provider right
now (to time a client kill), and has the server settled every hold after the run (to
know when the audit may look).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from backend.app import CONVEX_DB_NAME
from backend.billing import holds as hold_store
from backend.billing.holds import Hold
from backend.billing.service import POLL_GRACE_S, STALE_S
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.tables import holds
from backend.storage.sql import scalar

POLL_S = 0.1
# What a loaded 2-core machine adds to the server's own bound before we call it a failure.
SETTLE_SLACK_S = 10.0


def state_target(data_dir: Path, database_url: str | None) -> str | Path:
    """Where a backend started on ``data_dir`` keeps its Convex tables (the rule of
    ``BackendConfig.database``)."""
    return database_url or data_dir / CONVEX_DB_NAME


def sync_call_in_flight(db: ConvexDatabase, since_ms: float, models: Iterable[str]) -> bool:
    """A sync model's generate call is at the provider now: the server holds its cost and
    has no answer yet."""
    with db.read() as conn:
        count = scalar(
            conn,
            select(func.count())
            .select_from(holds)
            .where(
                holds.c.state == "holding",
                holds.c.response.is_(None),
                holds.c.createdAt >= since_ms,
                holds.c.model.in_(list(models)),
            ),
        )
    return bool(count)


def wait_for_first_hold(
    db: ConvexDatabase, still_running: Callable[[], bool], limit_s: float
) -> bool:
    """Wait until the client's first generation has reached the server (a hold is open):
    from then on a kill lands mid-queue, however long the client took to boot."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and still_running():
        with db.read() as conn:
            if scalar(conn, select(func.count()).select_from(holds)):
                return True
        time.sleep(POLL_S / 5)
    return False


@dataclass(frozen=True)
class SettleWait:
    seconds: float
    unsettled: list[Hold]

    def problems(self) -> list[str]:
        return [
            f"hold {h.id} ({h.model_id}, {h.state}) was still unsettled {self.seconds:.1f} s "
            f"after the last client run (a killed server's holds are settled once it has "
            f"been silent {STALE_S:g} s, at the next sweep)"
            for h in self.unsettled
        ]


def settle_bound_s(last_kill: float | None, sweep_s: float) -> float:
    """How long from now the server may take, by its own rules, to settle what is left.

    A hold whose server was SIGKILLed is taken for an orphan once that server has not
    beaten for ``STALE_S`` (its last beat came before the kill), and the next sweep of a
    live server settles it; a queued job nobody polls is settled at the sweep after it
    ends and after ``POLL_GRACE_S`` since it was submitted or last polled.
    ``last_kill`` is a ``time.monotonic()`` reading (None: nobody was killed)."""
    now = time.monotonic()
    orphans_visible = now if last_kill is None else max(now, last_kill + STALE_S)
    return orphans_visible - now + POLL_GRACE_S + 2 * sweep_s + SETTLE_SLACK_S


def wait_until_settled(db: ConvexDatabase, bound_s: float) -> SettleWait:
    """Poll until the server has settled every hold (its own condition, not a fixed
    sleep), at most ``bound_s``; what is still unsettled then is reported."""
    started = time.monotonic()
    while True:
        left = hold_store.unsettled(db)
        waited = time.monotonic() - started
        if not left or waited >= bound_s:
            return SettleWait(round(waited, 1), left)
        time.sleep(POLL_S)
