"""Submit overhead: ``submit()`` -> the backend receives the generate call, with 50 ms added
to every backend and Convex request by the latency proxy.

Our engine takes the one-call path (the backend advertises server-billing; the engine
learned it from ``/healthz`` when it was built, off the submit path): the generate call,
carrying its idempotency key, is the first and only request - one round trip; the server
takes the slot, reserves and adds the loading row itself. The reference (the seed's mobile
flow) does slot, credits, session, loading row and generate one after another: five. The
moment "the backend receives" a call is when the proxy hands its first bytes to the backend.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from bench.clients import SYNC_MODEL, close_engine, make_engine, make_reference, now
from bench.harness import Result, Stack, median
from bench.proxy import LatencyProxy
from catalog import Options
from gui.engine.request import EngineRequest

GENERATE_PATH = "/api/mobile/generate-images"
ADDED_LATENCY_S = 0.050
TARGET_FACTOR = 1.3
# Pause between rounds so trailing work (the engine's credit refresh, the job's render)
# does not overlap the next measurement: a user clicks Generate on an idle app.
SETTLE_S = 0.3


async def _wait_generate_after(proxy: LatencyProxy, t0: float, limit_s: float = 30.0) -> float:
    """Seconds from ``t0`` until the proxy forwarded a generate call that started after t0."""
    deadline = now() + limit_s
    while now() < deadline:
        for seen in reversed(proxy.stats.requests):
            if seen.path == GENERATE_PATH and seen.at >= t0:
                return seen.at - t0
        await asyncio.sleep(0.002)
    raise TimeoutError("the generate call never reached the backend")


async def _measure(
    stack: Stack, work: Path, rounds: int, warmup: int
) -> tuple[list[float], list[float]]:
    token = stack.token()
    engine = make_engine(stack, work, token)
    reference = make_reference(stack, token)
    ours: list[float] = []
    ref: list[float] = []
    try:
        for i in range(warmup + rounds):
            request = EngineRequest(prompt=f"submit overhead {i}", options=Options(SYNC_MODEL))
            t0 = now()
            engine.submit(request)
            took = await _wait_generate_after(stack.proxy, t0)
            await engine.wait_idle()
            await asyncio.sleep(SETTLE_S)
            if i >= warmup:
                ours.append(took)

            t0 = now()
            task = asyncio.create_task(reference.generate(f"reference submit {i}", SYNC_MODEL))
            took = await _wait_generate_after(stack.proxy, t0)
            await task
            await asyncio.sleep(SETTLE_S)
            if i >= warmup:
                ref.append(took)
    finally:
        await close_engine(engine)
        await reference.aclose()
    return ours, ref


def run(smoke: bool = False) -> list[Result]:
    rounds, warmup = (2, 1) if smoke else (15, 3)
    with tempfile.TemporaryDirectory(prefix="bench-submit-") as tmp:
        work = Path(tmp)
        with Stack(work / "backend", delay_s=ADDED_LATENCY_S) as stack:
            ours, ref = asyncio.run(_measure(stack, work, rounds, warmup))
    ours_ms, ref_ms = median(ours) * 1000, median(ref) * 1000
    added_ms = ADDED_LATENCY_S * 1000
    return [
        Result(
            name="Submit overhead (+50 ms/request)",
            ours=ours_ms,
            reference=ref_ms,
            unit="ms",
            target=f"<= {TARGET_FACTOR}x added = {TARGET_FACTOR * added_ms:.0f} ms",
            passed=ours_ms <= TARGET_FACTOR * added_ms,
            note=(
                f"median of {rounds}; ours {ours_ms / added_ms:.2f}x, "
                f"reference {ref_ms / added_ms:.2f}x the added latency"
            ),
        )
    ]
