"""The invariant audit (bench/reliability/audit.py) reads a real backend's state on either
dialect: the SQLite files of its data dir, or the PostgreSQL database it was given. It
passes a clean run and names what a tampered database got wrong."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from backend.app import CONVEX_DB_NAME
from backend.convex_host.tables import session_generations, users
from backend.server import EmbeddedBackend
from bench.reliability.audit import AuditReport, audit
from bench.reliability.db_read import writing
from catalog import cost
from tests.conftest import BackendFactory, dev_token
from tests.integration.routes_support import GENERATE_PATH, api_client, resolve

SYNC = "img-imagen4-preview"
QUEUED = "img-flux-2-max"
COSTS = {1: float(cost(SYNC, 1)), 2: float(cost(QUEUED, 1))}
START = 200.0


def _two_generations(backend: EmbeddedBackend, user: str) -> None:
    """#1 on a sync model, #2 on a queued one (polled to its end), each with a key."""
    with api_client(backend.base_url, dev_token(backend, user)) as client:
        for tag, model in ((1, SYNC), (2, QUEUED)):
            body = {
                "prompt": f"a lighthouse #{tag}",
                "model": model,
                "idempotencyKey": uuid.uuid4().hex,
                "sessionTitle": "Audit",
            }
            resp = client.post(GENERATE_PATH, json=body)
            assert resp.status_code == 200, resp.text
            answer = resp.json()
            if answer.get("queued"):
                answer = resolve(client, answer["requestId"], model)
            assert answer["success"] is True, answer


def _audit(backend: EmbeddedBackend, user: str) -> AuditReport:
    config = backend.config
    return audit(
        config.data_dir, user, COSTS, START, backend.base_url, database_url=config.database_url
    )


def test_the_audit_passes_a_clean_run(backend_factory: BackendFactory) -> None:
    backend = backend_factory(settle_sweep_interval_s=0.2)
    _two_generations(backend, "auditee")
    report = _audit(backend, "auditee")
    assert report.problems == [], report.problems
    assert report.completed_tags == {1, 2}
    assert report.charged == report.expected_charge == sum(COSTS.values())
    assert report.provider_finished == 1  # the queued model's job, at the local provider
    assert report.orphan_jobs == [] and report.duplicate_jobs == 0


def test_the_audit_names_an_unknown_user(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    report = _audit(backend, "nobody-at-all")
    assert report.problems == ["user nobody-at-all does not exist in Convex"]


def test_the_audit_names_what_a_tampered_database_got_wrong(
    backend_factory: BackendFactory,
) -> None:
    backend = backend_factory(settle_sweep_interval_s=0.2)
    _two_generations(backend, "tampered")
    with writing(backend.config.database(CONVEX_DB_NAME)) as conn:
        # A leak (credits left reserved) and an overcharge, and a tile left loading.
        conn.execute(
            update(users)
            .where(users.c.subject == "tampered")
            .values(reservedCredits=5, credits=users.c.credits - 1)
        )
        conn.execute(
            update(session_generations)
            .where(session_generations.c.prompt == "a lighthouse #1")
            .values(isLoading=1)
        )
    report = _audit(backend, "tampered")
    text = " | ".join(report.problems)
    assert "still reserved" in text, text
    assert "charged" in text and "completed generations cost" in text, text
    assert report.completed_tags == {2}  # the loading tile no longer counts as completed
