"""The CI-sized runs of the long harnesses: the client SIGKILLed twice over 8 generations
(backend in this process), the backend SIGKILLed twice mid-queue (client keeps going),
and a 10 users x 2 generations load smoke. Each ends with the full audit.

The two crash runs go on both dialects (``both_databases``): the embedded default
(SQLite files in the data dir) and a fresh PostgreSQL database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.server import EmbeddedBackend
from bench.reliability import start_burst
from bench.reliability.crash_harness import SYNC_CALL_CUT, run_backend_kills, run_client_kills
from bench.reliability.load import CREDITS, SYNC_OWN, run_load
from tests.conftest import BackendFactory
from tests.database_fixtures import BackendDatabases

GENERATE = "POST /api/mobile/generate-images"
# A crash run is kills, restarts and up to ~30 s of waiting for the server to settle; on a
# loaded 2-core machine that outgrows the suite's default limit (a bound, not a timing).
CRASH_RUN_LIMIT_S = 360


@pytest.mark.both_databases
@pytest.mark.timeout(CRASH_RUN_LIMIT_S)
def test_client_killed_twice_over_eight_generations(
    tmp_path: Path, backend_database: BackendDatabases
) -> None:
    result = run_client_kills(
        tmp_path,
        generations=8,
        kills=2,
        seed=3,
        kill_window=(0.7, 1.6),
        database_url=backend_database.url_for(tmp_path / "backend"),
    )
    assert result.client_kills == 2
    # The first kill lands while a sync model's generate call is at the provider.
    assert result.cut_steps.get(SYNC_CALL_CUT) == 1, result.cut_steps
    assert result.problems == [], result.problems
    # A kill during submission may legitimately fail one ("nothing was charged").
    assert result.completed >= 6, result.summary


@pytest.mark.both_databases
@pytest.mark.timeout(CRASH_RUN_LIMIT_S)
def test_backend_killed_twice_mid_queue(tmp_path: Path, backend_database: BackendDatabases) -> None:
    # A kill during a render hands the job to the restarted backend (its claim's owner is
    # gone); the 6 s deadline bounds anything slower with a clean "did not finish" failure.
    # Every hold must be settled by the server within its own orphan rule (the harness
    # waits for that, then audits): a hold nobody settles is a problem here.
    result = run_backend_kills(
        tmp_path,
        generations=8,
        kills=2,
        seed=5,
        deadline_s=6.0,
        database_url=backend_database.url_for(tmp_path / "backend"),
    )
    assert result.backend_kills == 2
    assert result.problems == [], result.problems
    assert result.completed >= 5, result.summary


async def test_load_smoke_ten_users_two_generations(backend_factory: BackendFactory) -> None:
    backend: EmbeddedBackend = backend_factory(
        starting_credits=CREDITS, rate_limit_generate=10_000, rate_limit_presign=10_000
    )
    result = await run_load(backend.base_url, backend.config.data_dir, users=10, per_user=2)
    assert result.failed == [] and result.problems == [], (result.failed, result.problems)
    assert result.completed == 20
    # One row per kind of generate call (sync / queued models) or one for all: 20 either way.
    generate = [
        r for name, r in result.routes.items() if name.startswith(GENERATE) and name != SYNC_OWN
    ]
    assert sum(r["count"] for r in generate) == 20, list(result.routes)
    assert all(r["p99_ms"] >= r["p50_ms"] for r in result.routes.values())
    # Every sync call's answer said how long the provider took (Server-Timing): the row
    # without it has one sample per sync call, each no longer than the call itself.
    sync, own = result.routes[GENERATE + " (sync model)"], result.routes[SYNC_OWN]
    assert own["count"] == sync["count"] >= 10
    assert own["max_ms"] <= sync["max_ms"]


def test_the_start_burst_reports_each_call_and_the_backends_cpu(tmp_path: Path) -> None:
    out = tmp_path / "burst.json"
    assert start_burst.main(["--users", "3", "--json", str(out)]) == 0
    summary = json.loads(out.read_text())
    assert summary["token"]["count"] == 3
    # The plan's first three items: two queued models and one sync model per user.
    calls = summary["generate, queued model"]["count"] + summary["generate, sync model"]["count"]
    assert calls == 9
    assert summary["backend_cpu_s"] > 0 and summary["seconds"] > 0
