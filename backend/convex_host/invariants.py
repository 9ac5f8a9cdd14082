"""The seed's invariants for one user, checked straight in the host's tables.

Used by tests and benchmarks after a run (and after simulated crashes) to prove that
nothing leaked: no slot left ``active``, no credits left reserved, no tile left loading,
unless the caller says that work is still in flight.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import or_, select

from backend.convex_host.database import ConvexDatabase
from backend.convex_host.tables import generations, holds, session_generations, users
from backend.storage.sql import rows


def check_invariants(
    db: ConvexDatabase,
    user_id: str,
    in_flight_slot_ids: Collection[str] = (),
    in_flight_request_ids: Collection[str] = (),
) -> list[str]:
    """Violations (human sentences) for the user, by users ``_id`` or JWT subject.

    ``in_flight_slot_ids``: slots (``generations`` ids) whose work is legitimately still
    running; ``in_flight_request_ids``: provider request ids still being polled. With both
    empty, the user must be fully at rest.
    """
    slots_in_flight = set(in_flight_slot_ids)
    requests_in_flight = set(in_flight_request_ids)
    nothing_in_flight = not slots_in_flight and not requests_in_flight
    problems: list[str] = []
    with db.read() as conn:
        found = rows(
            conn,
            select(users.c["_id"], users.c.subject, users.c.reservedCredits).where(
                or_(users.c["_id"] == user_id, users.c.subject == user_id)
            ),
        )
        for user in found:
            uid = user["_id"]
            who = f"user {user['subject']}"
            reserved = float(user["reservedCredits"])
            if nothing_in_flight and reserved != 0:
                problems.append(
                    f"{who}: {reserved:g} credits are still reserved with nothing in flight."
                )
            if reserved < 0:
                problems.append(f"{who}: reserved credits are negative ({reserved:g}).")
            if nothing_in_flight:
                # docs/billing.md: every hold ends settled, whoever drove it.
                for hold in rows(
                    conn,
                    select(holds.c["_id"], holds.c.key, holds.c.state).where(
                        holds.c.userId == uid, holds.c.state != "settled"
                    ),
                ):
                    problems.append(
                        f"{who}: hold {hold['_id']} ({hold['key']}) is still {hold['state']}, "
                        "never settled."
                    )
            slot_status: dict[str, str] = {}
            for slot in rows(
                conn,
                select(generations.c["_id"], generations.c.status).where(
                    generations.c.userId == uid
                ),
            ):
                slot_status[slot["_id"]] = slot["status"]
                if slot["status"] == "active" and slot["_id"] not in slots_in_flight:
                    problems.append(
                        f"{who}: slot {slot['_id']} is still active but nothing is running it."
                    )
            g = session_generations
            for gen in rows(
                conn,
                select(g.c["_id"], g.c.externalRequestId, g.c.concurrencySlotId).where(
                    g.c.userId == uid, g.c.isLoading == 1
                ),
            ):
                slot_id = gen["concurrencySlotId"]
                request_id = gen["externalRequestId"]
                if slot_id is not None and slot_status.get(slot_id) in ("completed", "failed"):
                    problems.append(
                        f"{who}: generation {gen['_id']} is still loading although its slot "
                        f"{slot_id} is {slot_status[slot_id]}."
                    )
                    continue
                live = slot_id in slots_in_flight or (
                    request_id is not None and request_id in requests_in_flight
                )
                if not live and request_id is None:
                    problems.append(
                        f"{who}: generation {gen['_id']} is loading with no live job "
                        "(no provider request id and nothing in flight)."
                    )
    return problems


def assert_invariants(
    db: ConvexDatabase,
    user_id: str,
    in_flight_slot_ids: Collection[str] = (),
    in_flight_request_ids: Collection[str] = (),
) -> None:
    problems = check_invariants(db, user_id, in_flight_slot_ids, in_flight_request_ids)
    if problems:
        raise AssertionError("Invariant violations:\n- " + "\n- ".join(problems))
