"""A rogue client against the real server: the billing contract of docs/billing.md, tested
from the outside. A client that skips the Convex calls, has no credits, hogs slots, floods,
repeats keys or captures money it never reserved must not get an image for free nor pay
twice (issue 12). The seed's flow, settlement, the sweeper and cancel are in
test_rogue_settlement.py."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.server import EmbeddedBackend
from catalog.pricing import cost
from tests.conftest import BackendFactory
from tests.reliability.conftest import assert_api_error
from tests.reliability.rogue_support import (
    MOBILE_GENERATE,
    MODELS,
    QUEUED_COST,
    QUEUED_MODEL,
    SLOW_QUEUE,
    SYNC_COST,
    SYNC_MODEL,
    WEB_GENERATE,
    Rogue,
    Start,
    assert_all_settled,
    billing_of,
    body,
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


def stored_files(backend: EmbeddedBackend) -> int:
    root = Path(backend.config.data_dir) / "files"
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def generate_in_parallel(r: Rogue, payload: dict[str, Any], n: int) -> list[httpx.Response]:
    """``payload`` generated ``n`` times at the same instant, from ``n`` clients of r's user."""
    clients = [rogue(r.backend, r.user_id) for _ in range(n)]
    barrier = threading.Barrier(n)

    def run(client: Rogue) -> httpx.Response:
        barrier.wait()
        return client.generate(payload)

    try:
        with ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(run, clients))
    finally:
        for c in clients:
            c.http.close()


def test_healthz_advertises_server_billing(start: Start) -> None:
    backend = start()
    resp = httpx.get(backend.base_url + "/healthz", timeout=10)
    assert resp.status_code == 200, resp.text
    assert {"server-billing", "cancel"} <= set(resp.json().get("features", []))


# -- bare generates: no Convex call at all --------------------------------------------------
@pytest.mark.parametrize("path", [MOBILE_GENERATE, WEB_GENERATE], ids=["mobile", "web"])
def test_bare_sync_generate_is_charged_its_cost(start: Start, path: str) -> None:
    r = rogue(start())
    before = r.total()
    resp = r.generate(body(SYNC_MODEL, numImages=2), path)
    answer = finish(r, resp, SYNC_MODEL)
    assert len(image_urls(answer)) == 2
    price = cost(SYNC_MODEL, 2)
    billing = billing_of(answer)
    assert billing["amount"] == price
    assert billing["settled"] is True and billing["charged"] == price
    assert billing.get("released", 0) == 0
    assert isinstance(billing["slotId"], str) and billing["slotId"]
    assert isinstance(billing["idempotencyKey"], str) and billing["idempotencyKey"]
    r.assert_balance(total=before - price)


def test_bare_queued_generate_holds_then_charges_when_the_job_ends(start: Start) -> None:
    r = rogue(start(**SLOW_QUEUE))  # still queued when looked at
    before = r.total()
    resp = r.generate(body(QUEUED_MODEL, prompt=unique_prompt()))
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer.get("queued") is True
    assert billing_of(answer)["settled"] is False
    # Held, not yet charged: the money is reserved and the slot busy while the job runs.
    r.assert_balance(total=before, reserved=QUEUED_COST, active=1)
    final = r.poll_until_done(answer["requestId"], QUEUED_MODEL)
    assert final.get("success") is True, final
    r.wait_settled(total=before - QUEUED_COST)


def test_identical_bare_generates_are_each_charged(start: Start) -> None:
    r = rogue(start(starting_credits=2 * SYNC_COST))
    first = finish(r, r.generate(body(SYNC_MODEL)), SYNC_MODEL)
    second = finish(r, r.generate(body(SYNC_MODEL)), SYNC_MODEL)
    assert set(image_urls(first)).isdisjoint(image_urls(second))  # two real generations
    r.assert_balance(total=0)
    refused = assert_api_error(r.generate(body(SYNC_MODEL)), 402, "insufficient_credits")
    assert refused["needed"] == SYNC_COST and refused["available"] == 0


# -- refusals before any provider call ------------------------------------------------------
@MODELS
@pytest.mark.parametrize("keyed", [False, True], ids=["bare", "keyed"])
def test_zero_credits_is_402_and_no_provider_call(start: Start, model: str, keyed: bool) -> None:
    backend = start(starting_credits=0)
    r = rogue(backend)
    prompt = unique_prompt()
    extra = {"idempotencyKey": new_key()} if keyed else {}
    resp = r.generate(body(model, prompt=prompt, numImages=2, **extra))
    refused = assert_api_error(resp, 402, "insufficient_credits")
    assert refused["needed"] == cost(model, 2) and refused["available"] == 0
    assert jobs_of(backend, prompt) == []
    assert stored_files(backend) == 0  # nothing rendered, nothing stored
    r.assert_balance(total=0)


def test_credits_spent_down_to_zero_then_402(start: Start) -> None:
    r = rogue(start(starting_credits=SYNC_COST + 1))
    finish(r, r.generate(body(SYNC_MODEL)), SYNC_MODEL)
    refused = assert_api_error(r.generate(body(SYNC_MODEL)), 402, "insufficient_credits")
    assert refused["needed"] == SYNC_COST and refused["available"] == 1
    r.assert_balance(total=1)


@MODELS
def test_slot_limit_is_429_with_limit_and_active(start: Start, model: str) -> None:
    backend = start(local_queue_s=120.0, local_run_s=1.0)  # the 4 jobs stay queued
    r = rogue(backend)
    before = r.total()
    prompt = unique_prompt()
    for _ in range(4):
        resp = r.generate(body(QUEUED_MODEL, prompt=prompt))
        assert resp.status_code == 200 and resp.json().get("queued") is True, resp.text
    r.assert_balance(total=before, reserved=4 * QUEUED_COST, active=4)
    resp = r.generate(body(model, prompt=prompt))
    refused = assert_api_error(resp, 429, "too_many_generations")
    assert refused["limit"] == 4 and refused["active"] == 4
    assert resp.headers.get("Retry-After")
    assert len(jobs_of(backend, prompt)) == 4
    r.assert_balance(total=before, reserved=4 * QUEUED_COST, active=4)


def test_slots_hogged_through_convex_count_too(start: Start) -> None:
    backend = start()
    r = rogue(backend)
    for _ in range(4):
        r.acquire_slot()  # slots taken, nothing reserved, never released
    prompt = unique_prompt()
    refused = assert_api_error(r.generate(body(QUEUED_MODEL, prompt=prompt)), 429)
    assert refused["code"] == "too_many_generations" and refused["active"] == 4
    assert jobs_of(backend, prompt) == []
    assert r.reserved() == 0


@MODELS
def test_thirty_parallel_bare_generates_with_balance_for_three(start: Start, model: str) -> None:
    backend = start(starting_credits=3 * cost(model, 1))
    r = rogue(backend)
    prompt = unique_prompt("flood")
    answers = generate_in_parallel(r, body(model, prompt=prompt), 30)
    ok = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code != 200]
    assert len(ok) == 3, [a.status_code for a in answers]
    for resp in refused:
        assert_api_error(resp, 402, "insufficient_credits")
    for resp in ok:
        finish(r, resp, model)
    r.wait_settled(total=0)
    if model == QUEUED_MODEL:
        assert len(jobs_of(backend, prompt)) == 3
    holds = assert_all_settled(backend, r.user_id)  # refusals leave no hold behind
    assert sorted(h["charged"] for h in holds) == [cost(model, 1)] * 3


# -- idempotency keys -----------------------------------------------------------------------
@MODELS
def test_same_key_twice_in_a_row_is_one_job_one_charge(start: Start, model: str) -> None:
    backend = start()
    r = rogue(backend)
    before = r.total()
    prompt, key = unique_prompt(), new_key()
    first = r.generate(body(model, prompt=prompt, idempotencyKey=key))
    second = r.generate(body(model, prompt=prompt, idempotencyKey=key))
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert second.json() == first.json()
    assert billing_of(first.json())["idempotencyKey"] == key
    finish(r, first, model)
    r.wait_settled(total=before - cost(model, 1))
    third = r.generate(body(model, prompt=prompt, idempotencyKey=key))  # after settlement
    assert third.status_code == 200 and image_urls(third.json()) == image_urls(first.json())
    if model == QUEUED_MODEL:
        assert len(jobs_of(backend, prompt)) == 1
        assert third.json()["requestId"] == first.json()["requestId"]
    r.assert_balance(total=before - cost(model, 1))


@MODELS
def test_same_key_concurrently_is_one_job_one_charge(start: Start, model: str) -> None:
    backend = start()
    r = rogue(backend)
    before = r.total()
    prompt, key = unique_prompt(), new_key()
    answers = generate_in_parallel(r, body(model, prompt=prompt, idempotencyKey=key), 8)
    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
    assert all(a.json() == answers[0].json() for a in answers)
    finish(r, answers[0], model)
    r.wait_settled(total=before - cost(model, 1))
    if model == QUEUED_MODEL:
        assert len(jobs_of(backend, prompt)) == 1
    [hold] = assert_all_settled(backend, r.user_id)
    assert hold["key"] == key and hold["charged"] == cost(model, 1)


def test_same_key_with_another_body_is_422(start: Start) -> None:
    backend = start()
    r = rogue(backend)
    before = r.total()
    key = new_key()
    first = r.generate(body(QUEUED_MODEL, prompt=unique_prompt(), idempotencyKey=key))
    assert first.status_code == 200, first.text
    other = unique_prompt()
    resp = r.generate(body(QUEUED_MODEL, prompt=other, idempotencyKey=key))
    assert_api_error(resp, 422, "idempotency_key_mismatch")
    assert jobs_of(backend, other) == []
    finish(r, first, QUEUED_MODEL)
    r.wait_settled(total=before - QUEUED_COST)


def test_the_same_key_of_two_users_is_two_requests(start: Start) -> None:
    backend = start()
    alice, bob = rogue(backend), rogue(backend)
    key, prompt = new_key(), unique_prompt()
    a = alice.generate(body(QUEUED_MODEL, prompt=prompt, idempotencyKey=key))
    b = bob.generate(body(QUEUED_MODEL, prompt=prompt, idempotencyKey=key))
    assert a.status_code == b.status_code == 200, (a.text, b.text)
    assert a.json()["requestId"] != b.json()["requestId"]
    finish(alice, a, QUEUED_MODEL)
    finish(bob, b, QUEUED_MODEL)
    alice.wait_settled(total=200 - QUEUED_COST)
    bob.wait_settled(total=200 - QUEUED_COST)


@pytest.mark.parametrize("key", ["short", "has space!", "x" * 129, "ключ-ключ-ключ"])
def test_malformed_keys_are_refused_before_anything(start: Start, key: str) -> None:
    backend = start()
    r = rogue(backend)
    prompt = unique_prompt()
    resp = r.generate(body(QUEUED_MODEL, prompt=prompt, idempotencyKey=key))
    assert resp.status_code in (400, 422), resp.text
    assert jobs_of(backend, prompt) == []
    r.assert_balance(total=200)


def test_key_and_slot_together_are_400(start: Start) -> None:
    backend = start()
    r = rogue(backend)
    slot = r.acquire_slot()
    r.reserve(QUEUED_COST)
    prompt = unique_prompt()
    resp = r.generate(
        body(QUEUED_MODEL, prompt=prompt, idempotencyKey=new_key(), concurrencySlotId=slot)
    )
    assert_api_error(resp, 400, "invalid_request")
    assert jobs_of(backend, prompt) == []
    r.assert_balance(total=200, reserved=QUEUED_COST, active=1)


# -- captures and releases the client makes on its own --------------------------------------
@pytest.mark.parametrize("amount", [7, 10])
def test_capture_with_nothing_reserved_charges_nothing(start: Start, amount: float) -> None:
    r = rogue(start())
    answer = r.capture(amount)
    assert answer.get("captured", 0) == 0, answer
    r.assert_balance(total=200)


def test_release_with_nothing_reserved_changes_nothing(start: Start) -> None:
    r = rogue(start())
    r.release(10)
    r.assert_balance(total=200)
    r.reserve(5)
    r.release(50)  # never below zero, never more than was reserved
    r.assert_balance(total=200, reserved=0)
    assert r.breakdown()["available"] == 200


def test_reserve_once_capture_twice_charges_once(start: Start) -> None:
    r = rogue(start())
    r.reserve(10)
    assert r.capture(10).get("captured") == 10
    assert r.capture(10).get("captured", 0) == 0
    r.assert_balance(total=190)


def test_capture_never_takes_money_a_server_hold_has_bound(start: Start) -> None:
    r = rogue(start(**SLOW_QUEUE))
    resp = r.generate(body(QUEUED_MODEL, idempotencyKey=new_key()))
    assert resp.status_code == 200, resp.text
    r.assert_balance(total=200, reserved=QUEUED_COST, active=1)
    assert r.capture(QUEUED_COST).get("captured", 0) == 0
    r.release(QUEUED_COST)
    r.assert_balance(total=200, reserved=QUEUED_COST, active=1)
    finish(r, resp, QUEUED_MODEL)
    r.wait_settled(total=200 - QUEUED_COST)


def test_double_capture_after_the_server_settled_a_keyed_request(start: Start) -> None:
    r = rogue(start())
    finish(r, r.generate(body(SYNC_MODEL, idempotencyKey=new_key())), SYNC_MODEL)
    r.assert_balance(total=200 - SYNC_COST)
    for _ in range(2):
        assert r.capture(SYNC_COST).get("captured", 0) == 0
    r.assert_balance(total=200 - SYNC_COST)
