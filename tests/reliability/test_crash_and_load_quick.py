"""The CI-sized runs of the long harnesses: the client SIGKILLed twice over 8 generations
(backend in this process), the backend SIGKILLed twice mid-queue (client keeps going),
and a 10 users x 2 generations load smoke. Each ends with the full audit."""

from __future__ import annotations

from pathlib import Path

from backend.server import EmbeddedBackend
from bench.reliability.crash_harness import SYNC_CALL_CUT, run_backend_kills, run_client_kills
from bench.reliability.load import CREDITS, run_load
from tests.conftest import BackendFactory


def test_client_killed_twice_over_eight_generations(tmp_path: Path) -> None:
    result = run_client_kills(tmp_path, generations=8, kills=2, seed=3, kill_window=(0.7, 1.6))
    assert result.client_kills == 2
    # The first kill lands while a sync model's generate call is at the provider.
    assert result.cut_steps.get(SYNC_CALL_CUT) == 1, result.cut_steps
    assert result.problems == [], result.problems
    # A kill during submission may legitimately fail one ("nothing was charged").
    assert result.completed >= 6, result.summary


def test_backend_killed_twice_mid_queue(tmp_path: Path) -> None:
    # A kill during a render hands the job to the restarted backend (its claim's owner is
    # gone); the 6 s deadline bounds anything slower with a clean "did not finish" failure.
    result = run_backend_kills(tmp_path, generations=8, kills=2, seed=5, deadline_s=6.0)
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
    assert result.routes["POST /api/mobile/generate-images"]["count"] == 20
    assert all(r["p99_ms"] >= r["p50_ms"] for r in result.routes.values())
