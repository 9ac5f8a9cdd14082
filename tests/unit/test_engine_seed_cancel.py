"""The seed's flow's cancel (gui/engine/seed_cancel.py) against scripted answers of the
cancel route (respx: only the HTTP answers are scripted; the ApiClient and the journal are
real): asked again until the server settles, never guessed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from gui.engine.api_client import ApiClient
from gui.engine.journal import Journal
from gui.engine.seed_cancel import Verdict, read_verdict, stop_on_server
from gui.engine.tokens import StaticTokenProvider

API = "http://api.test"
CANCEL = f"{API}/api/generate-images/cancel"


def settled(outcome: str) -> httpx.Response:
    billing = {"idempotencyKey": "slot:s1", "settled": True, "outcome": outcome}
    return httpx.Response(200, json={"cancelled": outcome == "cancelled", "billing": billing})


IN_FLIGHT = httpx.Response(200, json={"cancelled": True, "billing": {"settled": False}})


async def _stop(tmp_path: Path, answers: list[Any]) -> tuple[Verdict, int, Journal]:
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    route = respx.post(CANCEL)
    route.side_effect = answers
    journal = Journal(tmp_path / "journal.sqlite3")
    journal.create("g1", {"prompt": "p"})
    api = ApiClient(API, StaticTokenProvider("t"))
    try:
        verdict = await stop_on_server(
            api, journal, "g1", "s1", None, "img-nano-banana", sleep=sleep
        )
    finally:
        await api.aclose()
    assert len(sleeps) == route.call_count - 1  # a pause between asks, none after
    sent = route.calls[0].request
    assert b'"idempotencyKey":"slot:s1"' in sent.content
    return verdict, route.call_count, journal


@pytest.mark.parametrize(
    ("answers", "verdict"),
    [
        ([settled("cancelled")], Verdict.STOPPED),
        ([settled("failed")], Verdict.STOPPED),
        ([settled("completed")], Verdict.DELIVERED),
        ([httpx.Response(404, json={"error": "No.", "code": "not_found"})], Verdict.NOTHING_HELD),
        ([httpx.Response(403, json={"error": "No.", "code": "forbidden"})], Verdict.NOTHING_HELD),
        (
            [
                httpx.ConnectError("down"),
                httpx.Response(502, text="bad gateway"),
                httpx.Response(503, json={"error": "Busy.", "code": "busy"}),
                IN_FLIGHT,  # the provider call still runs: its end settles the hold
                IN_FLIGHT,
                settled("completed"),  # ... with images: charged, so shown
            ],
            Verdict.DELIVERED,
        ),
        ([httpx.ReadTimeout("slow"), settled("cancelled")], Verdict.STOPPED),
    ],
    ids=["cancelled", "failed", "delivered", "no-hold", "refused", "lost-then-late", "timeout"],
)
@respx.mock
async def test_the_cancel_is_asked_until_the_server_settles(
    tmp_path: Path, answers: list[Any], verdict: Verdict
) -> None:
    got, calls, journal = await _stop(tmp_path, answers)
    assert (got, calls) == (verdict, len(answers))
    row = journal.get("g1")
    assert row is not None and row.done("cancel")
    journal.close()


def test_an_answer_without_a_settlement_is_no_verdict_yet() -> None:
    assert read_verdict(None) is Verdict.NOTHING_HELD  # 404: the route or the key unknown
    assert read_verdict({}) is Verdict.NOTHING_HELD  # a server that keeps no holds
    assert read_verdict({"billing": {"settled": False, "outcome": "completed"}}) is None
    assert read_verdict({"billing": {"settled": "yes"}}) is None
    assert read_verdict({"billing": {"settled": True}}) is Verdict.STOPPED
