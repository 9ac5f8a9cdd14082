"""Load: N concurrent users x M generations through the real engine against one backend
process; nothing may be lost, and the p50/p95/p99 latency of every route is reported.

    python -m bench.reliability.load [--quick] [--users 200] [--per-user 5] [--json OUT]

Each user has its own dev token (POST /api/dev/token), its own engine and journal; all
share one httpx client whose event hooks time every request by route (Convex calls by
function). After the run every user's Convex state is audited (bench.reliability.audit).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from backend.runner import free_port
from bench.reliability.audit import audit
from bench.reliability.backend_proc import BackendProcess
from bench.reliability.driver import request_from_plan
from bench.reliability.engine_kit import FAST_POLL, EngineKit, Terminal
from bench.reliability.plan import make_plan
from gui.engine.api_client import ApiClient
from gui.engine.convex_gateway import ConvexGateway
from gui.engine.engine import GenerationEngine
from gui.engine.events import GenerationCompleted
from gui.engine.journal import Journal
from gui.engine.tokens import EmbeddedTokenProvider

CREDITS = 100_000


@dataclass
class LoadResult:
    users: int
    per_user: int
    completed: int = 0
    failed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    routes: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.problems


class RouteTimer:
    """httpx event hooks: latency per route (Convex: per function), in seconds."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)

    async def on_request(self, request: httpx.Request) -> None:
        request.extensions["t0"] = time.perf_counter()

    async def on_response(self, response: httpx.Response) -> None:
        request = response.request
        path = request.url.path
        if path.startswith("/files/"):
            path = "/files/*"
        elif path.startswith("/convex/api/"):
            try:
                path += " " + json.loads(request.content or b"{}").get("path", "?")
            except ValueError:
                pass
        key = f"{request.method} {path}"
        self.samples[key].append(time.perf_counter() - request.extensions["t0"])

    def summary(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for key, values in sorted(self.samples.items()):
            ordered = sorted(values)

            def pct(p: float, ordered: list[float] = ordered) -> float:
                return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)

            out[key] = {
                "count": len(ordered),
                "p50_ms": pct(0.50),
                "p95_ms": pct(0.95),
                "p99_ms": pct(0.99),
                "max_ms": round(ordered[-1] * 1000, 1),
            }
        return out


async def _user(
    base_url: str, user: str, plan: list[dict[str, Any]], work: Path, client: httpx.AsyncClient
) -> dict[str, Terminal]:
    tokens = EmbeddedTokenProvider(base_url, user, client=client)
    api = ApiClient(base_url, tokens, client=client)
    gateway = ConvexGateway(base_url + "/convex", tokens, client=client)
    journal = Journal(work / f"{user}.sqlite3")
    kit = EngineKit(
        GenerationEngine(api, gateway, journal, poll_policy=FAST_POLL),
        api,
        gateway,
        journal,
        tokens,
    )
    kit.engine.events.subscribe(kit._record)
    try:
        # Within the per-user slot limit (4): submit as slots free up.
        for item in plan:
            while len(kit.engine.in_flight()) >= 3:  # noqa: ASYNC110 - no per-run signal
                await asyncio.sleep(0.02)
            kit.engine.submit(request_from_plan(item))
        await kit.engine.wait_idle()
        return dict(kit.terminal)
    finally:
        await kit.engine.close()
        journal.close()


async def run_load(
    base_url: str, data_dir: Path, users: int, per_user: int, seed: int = 11
) -> LoadResult:
    result = LoadResult(users, per_user)
    timer = RouteTimer()
    plan = make_plan(per_user, seed)
    costs = {i: float(item["cost"]) for i, item in enumerate(plan)}
    work = Path(tempfile.mkdtemp(prefix="imagegen-load-"))
    limits = httpx.Limits(max_connections=users * 4, max_keepalive_connections=users * 2)
    started = time.monotonic()
    async with httpx.AsyncClient(
        timeout=120,
        limits=limits,
        event_hooks={"request": [timer.on_request], "response": [timer.on_response]},
    ) as client:
        names = [f"load-{i:03d}" for i in range(users)]
        outcomes = await asyncio.gather(
            *(_user(base_url, name, plan, work, client) for name in names),
            return_exceptions=True,
        )
    result.seconds = round(time.monotonic() - started, 1)
    for name, outcome in zip(names, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            result.problems.append(f"{name}: {type(outcome).__name__}: {outcome}")
            continue
        for event in outcome.values():
            if isinstance(event, GenerationCompleted):
                result.completed += 1
            else:
                result.failed.append(f"{name}: {getattr(event, 'message', event)}")
        report = audit(data_dir, name, costs, CREDITS, base_url)
        result.problems += [f"{name}: {p}" for p in report.problems]
        if len(report.completed_tags) != per_user:
            result.problems.append(f"{name}: {len(report.completed_tags)}/{per_user} in Convex")
    result.routes = timer.summary()
    return result


def print_report(result: LoadResult) -> None:
    status = "OK" if result.ok else "FAILED"
    total = result.users * result.per_user
    print(
        f"[{status}] {result.users} users x {result.per_user} generations: "
        f"{result.completed}/{total} completed in {result.seconds}s, "
        f"{len(result.failed)} failed, {len(result.problems)} problems"
    )
    print(f"{'route':62} {'count':>6} {'p50ms':>8} {'p95ms':>8} {'p99ms':>8} {'maxms':>8}")
    for route, s in result.routes.items():
        print(
            f"{route[:62]:62} {s['count']:>6.0f} {s['p50_ms']:>8} {s['p95_ms']:>8} "
            f"{s['p99_ms']:>8} {s['max_ms']:>8}"
        )
    for line in (result.failed + result.problems)[:20]:
        print("  " + line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability.load")
    parser.add_argument("--quick", action="store_true", help="10 users x 2 generations")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--per-user", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.per_user = 10, 2
    data_dir = Path(tempfile.mkdtemp(prefix="imagegen-load-backend-"))
    server = BackendProcess(
        data_dir, free_port(), queue_s=0.5, run_s=0.5, credits=CREDITS, rate_limit=100_000
    ).start()
    try:
        result = asyncio.run(run_load(server.base_url, data_dir, args.users, args.per_user))
    finally:
        server.stop()
    print_report(result)
    if args.json:
        args.json.write_text(json.dumps(result.__dict__, indent=2))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
