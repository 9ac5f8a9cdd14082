"""Random faults on the wire for a long run: every request between the real engine and
the real backend may be answered 5xx, dropped before or after the backend saw it, or
delayed; afterwards a clean restart resumes the journal and the audit checks everything.

    python -m bench.reliability.faults [--quick] [--generations 60] [--rate 0.08] [--seed 3]

Prints how many faults were injected (by kind), how the generations ended, and every
invariant violation the audit found.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from backend.runner import free_port
from backend.server import EmbeddedBackend
from bench.reliability.audit import audit
from bench.reliability.driver import request_from_plan
from bench.reliability.engine_kit import build_engine
from bench.reliability.plan import attachment_files, make_plan
from bench.reliability.proxy import (
    DROP_AFTER,
    DROP_BEFORE,
    PASS,
    FaultAction,
    FaultProxy,
    RequestInfo,
)
from gui.engine.events import GenerationCompleted, GenerationFailed

USER = "fault-user"
CREDITS = 100_000
KINDS: tuple[FaultAction, ...] = (
    FaultAction.error(500, "internal"),
    FaultAction.error(502, "bad_gateway"),
    FaultAction.error(503, "unavailable"),
    DROP_BEFORE,
    DROP_AFTER,
    FaultAction("delay", delay_s=0.5),
)


@dataclass
class FaultRun:
    generations: int
    injected: Counter[str] = field(default_factory=Counter)
    completed: int = 0
    failed_messages: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    orphans: int = 0


class RandomFaults:
    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self.rng = random.Random(seed)
        self.enabled = True

    def __call__(self, info: RequestInfo) -> FaultAction:
        # Token fetches stay clean: sign-in failures are a separate subject.
        if not self.enabled or info.path == "/api/dev/token":
            return PASS
        if self.rng.random() >= self.rate:
            return PASS
        return self.rng.choice(KINDS)


async def _drive(url: str, journal: Path, plan: list[dict], run: FaultRun, resume: bool) -> None:
    kit = build_engine(url, url + "/convex", journal, USER)
    try:
        if resume:
            await kit.engine.start()
        else:
            for item in plan:
                while len(kit.engine.in_flight()) >= 3:  # noqa: ASYNC110 - no per-run signal
                    await asyncio.sleep(0.02)
                kit.engine.submit(request_from_plan(item))
        await kit.engine.wait_idle()
        for event in kit.terminal.values():
            if isinstance(event, GenerationCompleted):
                run.completed += 1
            elif isinstance(event, GenerationFailed):
                run.failed_messages[event.message[:90]] += 1
    finally:
        await kit.close()


def run_faults(work: Path, generations: int, rate: float, seed: int) -> FaultRun:
    run = FaultRun(generations)
    plan = make_plan(generations, seed, attachment_files(work / "inputs"))
    costs = {i: float(item["cost"]) for i, item in enumerate(plan)}
    port = free_port()
    proxy = FaultProxy(port).start()
    faults = RandomFaults(rate, seed)
    proxy.rule = faults
    backend = EmbeddedBackend(
        work / "backend",
        port=port,
        public_base_url=proxy.base_url,
        local_queue_s=0.4,
        local_run_s=0.6,
        starting_credits=CREDITS,
        rate_limit_generate=100_000,
        rate_limit_presign=100_000,
    ).start()
    journal = work / "journal.sqlite3"
    try:
        asyncio.run(_drive(proxy.base_url, journal, plan, run, resume=False))
        faults.enabled = False  # the user restarts the app on a good network
        asyncio.run(_drive(proxy.base_url, journal, plan, run, resume=True))
        run.injected = Counter(entry.split(" ", 1)[0] for entry in proxy.injected)
        report = audit(backend.config.data_dir, USER, costs, CREDITS, proxy.base_url)
        run.problems = report.problems
        run.orphans = len(report.orphan_jobs)
    finally:
        backend.stop()
        proxy.stop()
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability.faults")
    parser.add_argument("--quick", action="store_true", help="12 generations")
    parser.add_argument("--generations", type=int, default=60)
    parser.add_argument("--rate", type=float, default=0.08, help="share of requests faulted")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    if args.quick:
        args.generations = 12
    work = Path(tempfile.mkdtemp(prefix="imagegen-faults-"))
    run = run_faults(work, args.generations, args.rate, args.seed)
    total = sum(run.injected.values())
    status = "OK" if not run.problems else "FAILED"
    print(
        f"[{status}] {run.generations} generations, {total} faults injected "
        f"({', '.join(f'{k}={v}' for k, v in sorted(run.injected.items()))}): "
        f"{run.completed} completed, {sum(run.failed_messages.values())} failed, "
        f"{run.orphans} orphaned provider jobs, {len(run.problems)} invariant problems"
    )
    for message, count in run.failed_messages.most_common():
        print(f"  failed x{count}: {message}")
    for problem in run.problems:
        print(f"  problem: {problem}")
    print(f"data kept in {work}")
    return 0 if not run.problems else 1


if __name__ == "__main__":
    sys.exit(main())
