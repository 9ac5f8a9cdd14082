"""Server-side settlement over real HTTP (docs/billing.md): the status route, the sweeper,
the cancel route, a sync call outliving its deadline, and provider failures."""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import insert, select, update

from backend.app import CONVEX_DB_NAME
from backend.convex_host.tables import billing_owners, holds, users
from backend.server import EmbeddedBackend
from bench.reliability.db_read import read_rows, writing
from catalog import cost
from tests.conftest import BackendFactory, dev_token
from tests.integration.routes_support import (
    GENERATE_PATH,
    STATUS_PATH,
    api_client,
    convex_value,
    credits_breakdown,
    resolve,
)
from tests.reliability.conftest import local_jobs

QUEUED = "img-flux-2-max"
SYNC = "img-imagen4-preview"
CANCEL_PATH = "/api/generate-images/cancel"


def key() -> str:
    return uuid.uuid4().hex


def wait_until(check: Any, limit_s: float = 15.0) -> Any:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("the condition never held")


def test_queued_job_is_settled_by_the_status_route(backend_factory: BackendFactory) -> None:
    backend = backend_factory(settle_sweep_interval_s=0)  # only the status route settles
    price = cost(QUEUED, 2, aspect_ratio="1:1")
    with api_client(backend.base_url, dev_token(backend)) as client:
        body = {"prompt": "a harbour", "model": QUEUED, "numImages": 2, "aspectRatio": "1:1"}
        resp = client.post(
            GENERATE_PATH, json={**body, "idempotencyKey": key(), "sessionTitle": "Harbour"}
        )
        assert resp.status_code == 200, resp.text
        answer = resp.json()
        billing = answer["billing"]
        assert billing["amount"] == price and billing["settled"] is False
        assert credits_breakdown(client)["reserved"] == price
        done = resolve(client, answer["requestId"], QUEUED)
        assert done["success"] is True and len(done["images"]) == 2
        assert credits_breakdown(client) == {
            "total": 200 - price,
            "reserved": 0,
            "available": 200 - price,
        }
        rows = convex_value(
            client, "query", "sessions:getSessionGenerations", {"sessionId": billing["sessionId"]}
        )
        assert rows[0]["isLoading"] is False and len(rows[0]["images"]) == 2
        assert rows[0]["externalRequestId"] == answer["requestId"]
        # Polling again changes nothing.
        resolve(client, answer["requestId"], QUEUED)
        assert credits_breakdown(client)["total"] == 200 - price


def test_the_sweeper_leaves_a_polled_job_to_its_polls(backend_factory: BackendFactory) -> None:
    """The sweeper asks the provider only about jobs nobody polls: a polled job's hold is
    never marked checked; an unpolled one's is, once its grace after submission is over
    (its client was expected to poll it)."""
    # The test's own polls must come within the grace of each other: on a loaded CI machine
    # (PostgreSQL, three workers on two cores) a poll and a database read once took > 1 s.
    grace_s = 3.0
    backend = backend_factory(
        settle_sweep_interval_s=0.1, poll_grace_s=grace_s, local_queue_s=60, local_run_s=60
    )
    target = backend.config.database(CONVEX_DB_NAME)

    def hold_of(idempotency_key: str) -> dict[str, Any]:
        [row] = read_rows(
            target, select(holds).where(holds.c.key == idempotency_key), table="holds"
        )
        return dict(row)

    with api_client(backend.base_url, dev_token(backend)) as client:
        keys = {"polled": key(), "unpolled": key()}
        answers = {
            name: client.post(
                GENERATE_PATH, json={"prompt": name, "model": QUEUED, "idempotencyKey": k}
            )
            for name, k in keys.items()
        }
        assert all(a.status_code == 200 for a in answers.values())
        polled = {"requestId": answers["polled"].json()["requestId"], "modelId": QUEUED}

        def poll_and_look(name: str) -> Any:
            assert client.get(STATUS_PATH, params=polled).json()["queued"] is True
            return hold_of(keys[name])["checkedAt"]

        wait_until(lambda: poll_and_look("unpolled") is not None)
        unpolled = hold_of(keys["unpolled"])
        assert unpolled["checkedAt"] - unpolled["createdAt"] >= grace_s * 1000
        for _ in range(5):  # five more sweeps
            time.sleep(0.1)
            assert poll_and_look("polled") is None


def test_a_job_nobody_polls_is_settled_by_the_sweeper(backend_factory: BackendFactory) -> None:
    backend = backend_factory(settle_sweep_interval_s=0.2, poll_grace_s=0.2)
    price = cost(QUEUED, 1, aspect_ratio="1:1")
    with api_client(backend.base_url, dev_token(backend)) as client:
        resp = client.post(
            GENERATE_PATH,
            json={
                "prompt": "unpolled",
                "model": QUEUED,
                "idempotencyKey": key(),
                "sessionTitle": "S",
            },
        )
        assert resp.status_code == 200, resp.text
        wait_until(lambda: credits_breakdown(client)["reserved"] == 0)
        assert credits_breakdown(client)["total"] == 200 - price
        active = convex_value(client, "query", "generations:getActiveGenerations")
        assert active["active"] == 0
        session_id = resp.json()["billing"]["sessionId"]
        rows = convex_value(
            client, "query", "sessions:getSessionGenerations", {"sessionId": session_id}
        )
        assert rows[0]["isLoading"] is False and len(rows[0]["images"]) == 1


def test_cancel_by_key_releases_everything(backend_factory: BackendFactory) -> None:
    backend = backend_factory(local_queue_s=60, local_run_s=60, settle_sweep_interval_s=0)
    with api_client(backend.base_url, dev_token(backend)) as client:
        k = key()
        answer = client.post(
            GENERATE_PATH, json={"prompt": "stop me", "model": QUEUED, "idempotencyKey": k}
        ).json()
        assert credits_breakdown(client)["reserved"] > 0
        resp = client.post(CANCEL_PATH, json={"idempotencyKey": k})
        assert resp.status_code == 200, resp.text
        assert resp.json()["cancelled"] is True and resp.json()["billing"]["charged"] == 0
        assert credits_breakdown(client) == {"total": 200, "reserved": 0, "available": 200}
        status = client.get(
            STATUS_PATH, params={"requestId": answer["requestId"], "modelId": QUEUED}
        )
        assert status.json()["success"] is False
        # Cancelling again, or by request id, changes nothing.
        again = client.post(CANCEL_PATH, json={"requestId": answer["requestId"], "modelId": QUEUED})
        assert again.status_code == 200 and again.json()["cancelled"] is True
        assert credits_breakdown(client)["total"] == 200


def test_cancel_is_owner_only_and_names_a_generation(backend_factory: BackendFactory) -> None:
    backend = backend_factory(local_queue_s=60, local_run_s=60)
    with api_client(backend.base_url, dev_token(backend)) as alice:
        answer = alice.post(
            GENERATE_PATH, json={"prompt": "mine", "model": QUEUED, "idempotencyKey": "alice-key-1"}
        ).json()
        with api_client(backend.base_url, dev_token(backend, "mallory")) as mallory:
            by_id = mallory.post(
                CANCEL_PATH, json={"requestId": answer["requestId"], "modelId": QUEUED}
            )
            assert by_id.status_code == 403
            by_key = mallory.post(CANCEL_PATH, json={"idempotencyKey": "alice-key-1"})
            assert by_key.status_code == 404
            assert mallory.post(CANCEL_PATH, json={}).status_code == 400
        assert credits_breakdown(alice)["reserved"] > 0  # still running, still held


def test_a_sync_call_past_the_deadline_is_kept_for_the_key(backend_factory: BackendFactory) -> None:
    backend = backend_factory(sync_deadline_s=0.001)
    price = cost(SYNC, 1, aspect_ratio="1:1")
    with api_client(backend.base_url, dev_token(backend)) as client:
        body = {"prompt": "slow", "model": SYNC, "aspectRatio": "1:1", "idempotencyKey": key()}
        first = client.post(GENERATE_PATH, json=body)
        assert first.status_code == 504 and first.json()["code"] == "still_running"
        assert first.headers["Retry-After"]
        again = client.post(GENERATE_PATH, json=body)
        assert again.status_code == 200, again.text
        assert again.json()["success"] is True and again.json()["billing"]["settled"] is True
        assert credits_breakdown(client) == {
            "total": 200 - price,
            "reserved": 0,
            "available": 200 - price,
        }


def test_provider_failure_is_settled_and_replayed(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    with api_client(backend.base_url, dev_token(backend)) as client:
        body = {"prompt": "[fail] please", "model": SYNC, "idempotencyKey": key()}
        first = client.post(GENERATE_PATH, json=body)
        assert first.status_code >= 400 and first.json()["code"]
        second = client.post(GENERATE_PATH, json=body)
        assert (second.status_code, second.json()) == (first.status_code, first.json())
        assert credits_breakdown(client) == {"total": 200, "reserved": 0, "available": 200}
        assert convex_value(client, "query", "generations:getActiveGenerations")["active"] == 0


def test_a_hold_left_by_a_stopped_server_is_released(backend_factory: BackendFactory) -> None:
    backend = backend_factory(settle_sweep_interval_s=0.2)
    body = {"prompt": "a fox", "model": SYNC, "idempotencyKey": "stale-key-1"}
    with api_client(backend.base_url, dev_token(backend)) as client:
        assert client.post(GENERATE_PATH, json=body).status_code == 200
        charged = 200 - credits_breakdown(client)["total"]
        # As if the server had died inside the sync call: no answer, and no job to find.
        _orphan(backend, "stale-key-1", "a-server-that-stopped", unspent=charged)
        wait_until(lambda: credits_breakdown(client)["reserved"] == 0)
        assert credits_breakdown(client)["total"] == 200
        replay = client.post(GENERATE_PATH, json=body)
        assert replay.status_code == 502 and replay.json()["code"] == "server_restarted"


def _orphan(backend: EmbeddedBackend, key: str, owner: str | None, unspent: float = 0) -> None:
    """As if the server process ``owner`` had died mid-call: no answer, no job, and the
    ``unspent`` credits it had charged still reserved. One transaction, so the sweeper
    never sees the hold orphaned before its credits are reserved again."""
    with writing(backend.config.database(CONVEX_DB_NAME)) as conn:
        conn.execute(
            update(holds)
            .where(holds.c.key == key)
            .values(state="holding", jobKey=None, requestId=None, response=None, owner=owner)
        )
        if unspent:
            conn.execute(
                update(users).values(
                    reservedCredits=users.c.reservedCredits + unspent,
                    credits=users.c.credits + unspent,
                )
            )


def test_a_repeat_adopts_the_job_a_dead_server_started(backend_factory: BackendFactory) -> None:
    backend = backend_factory(settle_sweep_interval_s=0)
    price = cost(QUEUED, 1, aspect_ratio="1:1")
    body = {"prompt": "a fox", "model": QUEUED, "idempotencyKey": "orphan-key-1"}
    with api_client(backend.base_url, dev_token(backend)) as client:
        assert client.post(GENERATE_PATH, json=body).status_code == 200
        # The server died after the provider took the job, before it recorded the answer.
        _orphan(backend, "orphan-key-1", "a-server-that-stopped")
        replay = client.post(GENERATE_PATH, json=body)
        assert replay.status_code == 200, replay.text
        done = resolve(client, replay.json()["requestId"], QUEUED)
        assert done["success"] is True
        assert credits_breakdown(client) == {
            "total": 200 - price,
            "reserved": 0,
            "available": 200 - price,
        }
    assert len(local_jobs(backend)) == 1  # the same job, adopted: never a second one


def test_a_live_servers_hold_is_waited_for_not_released(backend_factory: BackendFactory) -> None:
    backend = backend_factory(settle_sweep_interval_s=0.2, replay_wait_s=0.5)
    body = {"prompt": "a fox", "model": QUEUED, "idempotencyKey": "busy-key-1"}
    with api_client(backend.base_url, dev_token(backend)) as client:
        assert client.post(GENERATE_PATH, json=body).status_code == 200
        # Another process that is alive (it beat just now) is still working on it.
        with writing(backend.config.database(CONVEX_DB_NAME)) as conn:
            conn.execute(insert(billing_owners).values(id="peer", heartbeatAt=time.time() * 1000))
        _orphan(backend, "busy-key-1", "peer")
        replay = client.post(GENERATE_PATH, json=body)
        assert replay.status_code == 409 and replay.json()["code"] == "request_in_progress"
        time.sleep(0.5)  # a sweep or two: the peer is alive, so nothing is settled
        assert credits_breakdown(client)["reserved"] > 0
