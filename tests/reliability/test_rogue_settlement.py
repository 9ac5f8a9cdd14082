"""A rogue client of the seed's flow (concurrencySlotId), and settlement by the server: the
status route, the sweeper for jobs nobody polls, and cancel (docs/billing.md, issue 12)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from backend.convex_host.ids import new_id
from catalog.pricing import cost
from tests.conftest import BackendFactory
from tests.reliability.conftest import assert_api_error
from tests.reliability.rogue_support import (
    MODELS,
    QUEUED_COST,
    QUEUED_MODEL,
    SLOW_QUEUE,
    SYNC_COST,
    SYNC_MODEL,
    Rogue,
    Start,
    assert_all_settled,
    billing_of,
    body,
    final_answer,
    finish,
    image_urls,
    jobs_of,
    new_key,
    rogue,
    starter,
    unique_prompt,
)

# The billing contract over HTTP on SQLite and on PostgreSQL alike.
pytestmark = pytest.mark.both_databases


@pytest.fixture
def start(backend_factory: BackendFactory) -> Start:
    return starter(backend_factory)


def seed_generate(r: Rogue, model: str, prompt: str, **extra: Any) -> tuple[str, Any]:
    """The seed's first steps: acquire a slot, reserve the cost, generate naming the slot."""
    slot = r.acquire_slot(prompt)
    r.reserve(cost(model, 1))
    return slot, r.generate(body(model, prompt=prompt, concurrencySlotId=slot, **extra))


def assert_seed_generate_refused(r: Rogue, slot: str, status: int, code: str) -> None:
    """A generate naming ``slot`` is refused with ``status`` / ``code`` and starts no job."""
    prompt = unique_prompt()
    resp = r.generate(body(QUEUED_MODEL, prompt=prompt, concurrencySlotId=slot))
    assert_api_error(resp, status, code)
    assert jobs_of(r.backend, prompt) == []


# -- the seed's flow, end to end ------------------------------------------------------------
@MODELS
def test_seed_flow_end_to_end_is_charged_exactly_once(start: Start, model: str) -> None:
    r = rogue(start())
    price = cost(model, 1)
    slot, resp = seed_generate(r, model, unique_prompt())
    assert billing_of(resp.json())["slotId"] == slot
    finish(r, resp, model)
    # The server settled when the job ended; the seed's own calls follow, as it makes them.
    r.wait_settled(total=200 - price)
    captured = r.capture(price)
    assert captured.get("success") is True, captured
    assert captured.get("captured", 0) == 0 and captured.get("settledByServer") is True, captured
    r.set_slot(slot, "completed")
    r.assert_balance(total=200 - price)
    # A confused or hostile client repeating its calls changes nothing either.
    assert r.capture(price).get("captured", 0) == 0
    r.release(price)
    r.set_slot(slot, "failed")
    r.assert_balance(total=200 - price)
    [hold] = assert_all_settled(r.backend, r.user_id)
    assert hold["key"] == f"slot:{slot}" and hold["slotId"] == slot
    assert hold["charged"] == price and hold["outcome"] == "completed"
    assert hold["clientAck"] == 0  # the client's capture was absorbed by this hold


def test_seed_flow_slot_of_another_user_is_403(start: Start) -> None:
    backend = start()
    alice, mallory = rogue(backend), rogue(backend)
    slot = alice.acquire_slot()
    mallory.reserve(QUEUED_COST)
    assert_seed_generate_refused(mallory, slot, 403, "forbidden")
    mallory.assert_balance(total=200, reserved=QUEUED_COST)
    alice.assert_balance(total=200, active=1)


@pytest.mark.parametrize("status", ["completed", "failed"])
def test_seed_flow_finished_slot_is_409(start: Start, status: str) -> None:
    r = rogue(start())
    slot = r.acquire_slot()
    r.set_slot(slot, status)
    r.reserve(QUEUED_COST)
    assert_seed_generate_refused(r, slot, 409, "slot_not_active")
    r.assert_balance(total=200, reserved=QUEUED_COST)


def test_seed_flow_unknown_slot_is_404(start: Start) -> None:
    r = rogue(start())
    r.reserve(QUEUED_COST)
    assert_seed_generate_refused(r, new_id("generations"), 404, "slot_not_found")


def test_seed_flow_without_a_reservation_is_402(start: Start) -> None:
    r = rogue(start())
    slot = r.acquire_slot()
    assert_seed_generate_refused(r, slot, 402, "insufficient_credits")
    r.assert_balance(total=200, active=1)


def test_seed_flow_one_reservation_cannot_pay_for_two_slots(start: Start) -> None:
    backend = start(**SLOW_QUEUE)
    r = rogue(backend)
    prompt = unique_prompt()
    first, second = r.acquire_slot(), r.acquire_slot()
    r.reserve(QUEUED_COST)
    ok = r.generate(body(QUEUED_MODEL, prompt=prompt, concurrencySlotId=first))
    assert ok.status_code == 200, ok.text
    resp = r.generate(body(QUEUED_MODEL, prompt=prompt, concurrencySlotId=second))
    assert_api_error(resp, 402, "insufficient_credits")
    assert len(jobs_of(backend, prompt)) == 1
    final_answer(r, ok, QUEUED_MODEL)
    r.wait_settled(total=200 - QUEUED_COST, active=1)  # the unused slot is the client's


def test_seed_flow_reused_slot_replays_the_first_answer(start: Start) -> None:
    backend = start(**SLOW_QUEUE)
    r = rogue(backend)
    prompt = unique_prompt()
    slot, first = seed_generate(r, QUEUED_MODEL, prompt)
    assert first.status_code == 200, first.text
    again = r.generate(body(QUEUED_MODEL, prompt=prompt, concurrencySlotId=slot))
    assert again.status_code == 200 and again.json() == first.json(), again.text
    other = unique_prompt()
    changed = r.generate(body(QUEUED_MODEL, prompt=other, concurrencySlotId=slot))
    # The contract says only "replays"; a mismatch refusal is as good for the money.
    if changed.status_code == 200:
        assert changed.json() == first.json()
    else:
        assert_api_error(changed, 422, "idempotency_key_mismatch")
    assert len(jobs_of(backend, prompt)) == 1 and jobs_of(backend, other) == []
    final_answer(r, first, QUEUED_MODEL)
    r.wait_settled(total=200 - QUEUED_COST)


def test_seed_flow_early_slot_release_does_not_free_the_hold(start: Start) -> None:
    r = rogue(start(**SLOW_QUEUE))
    slot, resp = seed_generate(r, QUEUED_MODEL, unique_prompt())
    assert resp.status_code == 200 and resp.json().get("queued") is True, resp.text
    # Before the job ends, the client tries to free its slot and its money.
    r.set_slot(slot, "failed")
    r.release(QUEUED_COST)
    r.assert_balance(total=200, reserved=QUEUED_COST, active=1)
    finish(r, resp, QUEUED_MODEL)
    r.wait_settled(total=200 - QUEUED_COST)


# -- settlement by the status route ---------------------------------------------------------
def test_status_route_settles_and_fills_the_loading_row(start: Start) -> None:
    r = rogue(start(**SLOW_QUEUE))
    session = r.create_session()
    price = cost(QUEUED_MODEL, 2)
    resp = r.generate(body(QUEUED_MODEL, numImages=2, idempotencyKey=new_key(), sessionId=session))
    assert resp.status_code == 200, resp.text
    billing = billing_of(resp.json())
    assert billing["sessionId"] == session and billing["amount"] == price
    [row] = r.session_rows(session)
    assert row["_id"] == billing["generationId"] and row["isLoading"] is True
    answer = r.poll_until_done(resp.json()["requestId"], QUEUED_MODEL)
    assert answer.get("success") is True and len(image_urls(answer)) == 2, answer
    r.wait_settled(total=200 - price)
    [row] = r.session_rows(session)
    assert row["isLoading"] is False and not row.get("error")
    assert sorted(i["url"] for i in row["images"]) == sorted(image_urls(answer))


def test_session_title_creates_the_session_and_its_row(start: Start) -> None:
    r = rogue(start())
    resp = r.generate(body(SYNC_MODEL, idempotencyKey=new_key(), sessionTitle="Rogue title"))
    assert resp.status_code == 200, resp.text
    billing = billing_of(resp.json())
    sessions = r.query("sessions:getUserSessions")
    assert [s["title"] for s in sessions if s["_id"] == billing["sessionId"]] == ["Rogue title"]
    [row] = r.session_rows(billing["sessionId"])
    assert row["isLoading"] is False
    assert [i["url"] for i in row["images"]] == image_urls(resp.json())


def test_someone_elses_session_is_refused_and_nothing_held(start: Start) -> None:
    backend = start()
    alice, mallory = rogue(backend), rogue(backend)
    session = alice.create_session()
    prompt = unique_prompt()
    resp = mallory.generate(
        body(QUEUED_MODEL, prompt=prompt, idempotencyKey=new_key(), sessionId=session)
    )
    assert resp.status_code in (403, 404), resp.text
    assert jobs_of(backend, prompt) == [] and alice.session_rows(session) == []
    mallory.assert_balance(total=200)


def test_a_failed_queued_job_charges_nothing(start: Start) -> None:
    r = rogue(start())
    session = r.create_session()
    resp = r.generate(body(QUEUED_MODEL, prompt="[fail] rogue", sessionId=session))
    answer = final_answer(r, resp, QUEUED_MODEL)
    assert answer.get("success") is False, answer
    r.wait_settled(total=200)
    [row] = r.session_rows(session)
    assert row["isLoading"] is False and row.get("error")
    [hold] = assert_all_settled(r.backend, r.user_id)
    assert hold["outcome"] == "failed" and hold["charged"] == 0


def test_a_failed_sync_call_charges_nothing(start: Start) -> None:
    r = rogue(start())
    resp = r.generate(body(SYNC_MODEL, prompt="[fail] rogue", idempotencyKey=new_key()))
    assert resp.status_code >= 400, resp.text
    r.assert_balance(total=200)
    [hold] = assert_all_settled(r.backend, r.user_id)
    assert hold["outcome"] == "failed" and hold["charged"] == 0


def test_sync_past_the_server_deadline_keeps_the_result_under_the_key(start: Start) -> None:
    # A deadline no render meets; the sweeper is off so only the route's own task settles.
    r = rogue(start(sync_deadline_s=0.001, settle_sweep_interval_s=0))
    key = new_key()
    first = r.generate(body(SYNC_MODEL, idempotencyKey=key))
    assert_api_error(first, 504, "still_running")
    assert first.headers.get("Retry-After")
    deadline = time.monotonic() + 30
    again = r.generate(body(SYNC_MODEL, idempotencyKey=key))
    while again.status_code != 200 and time.monotonic() < deadline:
        assert again.status_code in (409, 504), again.text
        time.sleep(0.2)
        again = r.generate(body(SYNC_MODEL, idempotencyKey=key))
    assert again.status_code == 200 and len(image_urls(again.json())) == 1, again.text
    r.wait_settled(total=200 - SYNC_COST)
    [hold] = assert_all_settled(r.backend, r.user_id)
    assert hold["charged"] == SYNC_COST


# -- the sweeper: jobs nobody polls -----------------------------------------------------------
@pytest.mark.parametrize("fail", [False, True], ids=["delivered", "failed"])
def test_sweeper_settles_a_job_nobody_polls(start: Start, fail: bool) -> None:
    r = rogue(start(settle_sweep_interval_s=0.2))
    session = r.create_session()
    prompt = "[fail] swept" if fail else unique_prompt("swept")
    resp = r.generate(body(QUEUED_MODEL, prompt=prompt, sessionId=session))
    assert resp.status_code == 200 and resp.json().get("queued") is True, resp.text
    # Never polled: the server settles it by itself.
    r.wait_settled(total=200 if fail else 200 - QUEUED_COST)
    [row] = r.session_rows(session)
    assert row["isLoading"] is False
    assert bool(row.get("error")) is fail and (len(row["images"]) == 0) is fail
    [hold] = assert_all_settled(r.backend, r.user_id)
    assert hold["outcome"] == ("failed" if fail else "completed")


# -- cancel -----------------------------------------------------------------------------------
@pytest.mark.parametrize("by", ["requestId", "idempotencyKey"])
def test_cancel_a_queued_job_charges_nothing(start: Start, by: str) -> None:
    r = rogue(start(local_queue_s=60.0, local_run_s=0.3))
    key = new_key()
    resp = r.generate(body(QUEUED_MODEL, idempotencyKey=key))
    assert resp.status_code == 200, resp.text
    if by == "requestId":
        cancel = r.cancel(requestId=resp.json()["requestId"], modelId=QUEUED_MODEL)
    else:
        cancel = r.cancel(idempotencyKey=key)
    assert cancel.status_code == 200 and cancel.json().get("cancelled") is True, cancel.text
    r.wait_settled(total=200)
    again = r.cancel(idempotencyKey=key)  # a second cancel changes nothing
    assert again.status_code < 500
    r.assert_balance(total=200)
    [hold] = assert_all_settled(r.backend, r.user_id)
    assert hold["outcome"] == "cancelled" and hold["charged"] == 0


def test_cancel_of_someone_elses_job_is_refused(start: Start) -> None:
    backend = start(**SLOW_QUEUE)
    alice, mallory = rogue(backend), rogue(backend)
    resp = alice.generate(body(QUEUED_MODEL, idempotencyKey=new_key()))
    assert resp.status_code == 200, resp.text
    cancel = mallory.cancel(requestId=resp.json()["requestId"], modelId=QUEUED_MODEL)
    assert cancel.status_code in (403, 404), cancel.text
    finish(alice, resp, QUEUED_MODEL)
    alice.wait_settled(total=200 - QUEUED_COST)
    mallory.assert_balance(total=200)
