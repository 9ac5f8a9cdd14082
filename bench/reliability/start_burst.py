"""The load run's first second alone: N users each take a dev token, then send their plan's
first three generate calls at once — no engines, no polling — and the backend's own CPU
for it is read from /proc.

    python -m bench.reliability.start_burst [--users 200]

It isolates what the load run's p99 misses come from (docs/benchmarks.md, "Third pass"):
how much of one core the backend needs to answer the start burst, next to how long the
burst takes to drain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from backend.runner import free_port
from bench.reliability.backend_proc import BackendProcess
from bench.reliability.load import CREDITS
from bench.reliability.plan import make_plan
from catalog import MODELS

GENERATE_PATH = "/api/mobile/generate-images"
_SSL = ssl.create_default_context()  # one for all clients (see load.py)


@dataclass
class BurstResult:
    users: int
    seconds: float = 0.0
    backend_cpu_s: float = 0.0
    generator_cpu_s: float = 0.0
    latency_s: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "users": self.users,
            "seconds": round(self.seconds, 2),
            "backend_cpu_s": round(self.backend_cpu_s, 2),
            "generator_cpu_s": round(self.generator_cpu_s, 2),
        }
        for kind, values in sorted(self.latency_s.items()):
            ordered = sorted(values)
            out[kind] = {
                "count": len(ordered),
                "p50_s": round(ordered[len(ordered) // 2], 2),
                "p99_s": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
                "max_s": round(ordered[-1], 2),
            }
        return out


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _user(base_url: str, name: str, plan: list[dict[str, Any]], result: BurstResult) -> None:
    async with httpx.AsyncClient(timeout=300, verify=_SSL) as client:
        started = time.monotonic()
        answer = await client.post(base_url + "/api/dev/token", json={"userId": name})
        result.latency_s["token"].append(time.monotonic() - started)
        answer.raise_for_status()
        headers = {"Authorization": f"Bearer {answer.json()['token']}"}

        async def generate(item: dict[str, Any]) -> None:
            kind = "sync" if MODELS[item["model"]].call_type == "sync" else "queued"
            body = {k: v for k, v in item.items() if k != "cost"}
            body |= {"idempotencyKey": uuid.uuid4().hex, "sessionTitle": "burst"}
            sent = time.monotonic()
            answer = await client.post(base_url + GENERATE_PATH, json=body, headers=headers)
            result.latency_s[f"generate, {kind} model"].append(time.monotonic() - sent)
            answer.raise_for_status()

        await asyncio.gather(*(generate(item) for item in plan[:3]))


async def run_burst(base_url: str, backend_pid: int, users: int) -> BurstResult:
    result = BurstResult(users)
    plan = make_plan(5, 11)  # the load run's plan
    backend_before, generator_before = process_cpu_s(backend_pid), sum(os.times()[:2])
    started = time.monotonic()
    await asyncio.gather(*(_user(base_url, f"burst-{i:03d}", plan, result) for i in range(users)))
    result.seconds = time.monotonic() - started
    result.backend_cpu_s = process_cpu_s(backend_pid) - backend_before
    result.generator_cpu_s = sum(os.times()[:2]) - generator_before
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability.start_burst")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="imagegen-burst-"))
    # The load run's backend: the same timings, credits and (no) rate limits.
    server = BackendProcess(
        data_dir, free_port(), queue_s=0.5, run_s=0.5, credits=CREDITS, rate_limit=100_000
    ).start()
    try:
        assert server.proc is not None
        result = asyncio.run(run_burst(server.base_url, server.proc.pid, args.users))
    finally:
        server.stop()
    summary = result.summary()
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
