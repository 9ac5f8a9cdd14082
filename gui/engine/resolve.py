"""Whether a Convex mutation whose answer was lost took effect, learned by reading Convex.

The seed's flow only (a backend that does not advertise ``server-billing``): it compares
totals, prompts and titles, which a second device of the same account can mislead. The
one-call path (server_flow.py) never guesses: a lost answer is asked again by its key.

Convex mutations are not idempotent by themselves (a second ``captureReservedCredits``
charges again, a second ``acquireGenerationSlot`` takes a second slot), so a step journaled
as begun but not finished is never simply repeated: first these resolvers ask Convex.

* credits (``credits`` / ``captured`` / ``released``): the user's reserved total, compared
  with what this client's other unfinished journal rows hold;
* ``slot``: an active slot for the same prompt that no journal row owns;
* ``session``: an empty session with the title this prompt gives that no journal row owns;
* ``loading_row``: a loading row of the same prompt and model in the session that no journal
  row owns.

"No journal row owns" is an indexed lookup per candidate (``Journal.knows``); settled rows
are compacted (journal.py), which loses nothing here: a settled row's slot is terminal and
its loading row is not loading, so neither can be a candidate.

Each resolver journals its verdict: ``end`` (it happened; the run gets the slot id, row id
or reservation) or ``refuse`` (it did not happen, so it may be tried again). ``captured`` and
``released`` that did not happen stay ``begin``: only ``end`` means done for them. A resolver
raises ``ConvexUnavailable`` / ``ConvexError`` when it cannot read; the step then stays
uncertain. Callers hold the engine's lock for the resource (``Steps.locks``), so no other
mutation of this client is in flight while the totals are compared.

Used by the flow's steps right after a lost answer, by ``undo`` and by resume on start.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from gui.engine.convex_gateway import ConvexGateway
from gui.engine.journal import Journal, JournalRow

if TYPE_CHECKING:
    from gui.engine.flow import GenerationRun

CREDIT_STEPS = ("credits", "captured", "released")
Resolver = Callable[[ConvexGateway, Journal, "GenerationRun", JournalRow], Awaitable[None]]


def session_title(prompt: str, limit: int = 40) -> str:
    text = " ".join(prompt.split())
    if not text:
        return "New session"
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def holds_reservation(row: JournalRow) -> bool:
    return row.done("credits") and not row.done("captured") and not row.done("released")


def expected_reserved(journal: Journal, exclude: str) -> int:
    """Credits our unfinished journal rows (other than ``exclude``) hold reserved."""
    return sum(
        r.amount for r in journal.unfinished() if r.local_id != exclude and holds_reservation(r)
    )


async def resolve_credits(
    gateway: ConvexGateway, journal: Journal, run: GenerationRun, row: JournalRow
) -> None:
    if not any(row.uncertain(s) for s in CREDIT_STEPS):
        return
    reserved = (await gateway.get_user_credits_breakdown()).reserved
    others = expected_reserved(journal, row.local_id)
    if row.uncertain("credits"):
        if reserved >= others + run.amount:
            journal.end(run.local_id, "credits")
            run.credits_reserved = True
        else:
            journal.refuse(run.local_id, "credits")
            run.credits_reserved = False
    for step in ("captured", "released"):
        # This row's reservation was part of the total before the step ran.
        if row.uncertain(step) and reserved <= others:
            journal.end(run.local_id, step)
            run.credits_reserved = False


async def resolve_slot(
    gateway: ConvexGateway, journal: Journal, run: GenerationRun, row: JournalRow
) -> None:
    if not row.uncertain("slot"):
        return
    active = await gateway.query("generations:getActiveGenerations")
    prompt = run.request.prompt[:500]
    candidates = [
        g
        for g in (active or {}).get("generations", [])
        if g.get("prompt") == prompt and not journal.knows("slot_id", str(g.get("_id")))
    ]
    if not candidates:
        # No active slot of ours: none was taken (or it is already terminal): nothing to undo.
        journal.refuse(run.local_id, "slot")
        return
    slot = max(candidates, key=lambda g: g.get("createdAt", 0))
    run.slot_id = str(slot["_id"])
    journal.end(run.local_id, "slot", slot_id=run.slot_id)


async def resolve_session(
    gateway: ConvexGateway, journal: Journal, run: GenerationRun, row: JournalRow
) -> None:
    if not row.uncertain("session"):
        return
    title = session_title(run.request.prompt)
    named = [
        s
        for s in await gateway.get_user_sessions()
        if s.title == title and not journal.knows("session_id", s.id)
    ]
    # Newest first; ours has no generation yet (its loading row comes after it).
    for session in sorted(named, key=lambda s: s.created_at, reverse=True):
        if not await gateway.get_session_generations(session.id):
            run.session_id = session.id
            journal.end(run.local_id, "session", session_id=session.id)
            return
    journal.refuse(run.local_id, "session")


async def resolve_row(
    gateway: ConvexGateway, journal: Journal, run: GenerationRun, row: JournalRow
) -> None:
    if not row.uncertain("loading_row") or not run.session_id:
        return
    generations = await gateway.get_session_generations(run.session_id)
    candidates = [
        g
        for g in generations
        if g.is_loading
        and g.prompt == run.request.prompt
        and g.model == run.model_id
        and not journal.knows("generation_id", g.id)
    ]
    if not candidates:
        journal.refuse(run.local_id, "loading_row")  # no tile of ours is left loading
        return
    found = max(candidates, key=lambda g: g.created_at)
    run.generation_id = found.id
    journal.end(run.local_id, "loading_row", generation_id=found.id)


# Which lock (Steps.locks) guards each resolver's resource, in the order resume runs them.
RESOLVERS: tuple[tuple[str, Resolver], ...] = (
    ("credits", resolve_credits),
    ("slot", resolve_slot),
    ("session", resolve_session),  # before the row: a row is looked for in its session
    ("row", resolve_row),
)
