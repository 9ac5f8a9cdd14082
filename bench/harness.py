"""What every benchmark shares: the backend behind the latency proxy, results, statistics.

``Stack`` starts a real embedded backend and a :class:`~bench.proxy.LatencyProxy` in front
of it. The backend's public URL is the proxy's, so presigned uploads and image URLs also
go through it (bytes are counted, latency applies). Limits that exist to protect a shared
deployment (slots per user, rate limits, starting credits) are raised: benchmarks run many
generations at once and would otherwise measure the limits, not the flow.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from backend.runner import free_port
from backend.server import EmbeddedBackend
from bench.proxy import LatencyProxy

BENCH_LIMITS: dict[str, Any] = {
    "slot_limit": 10_000,
    "starting_credits": 100_000_000,
    "rate_limit_generate": 1_000_000,
    "rate_limit_presign": 1_000_000,
    "dev_token_ttl_s": 24 * 3600,
}


@dataclass
class Result:
    """One row of the table. ``ours``/``reference`` are in ``unit``; ``passed`` is None when
    the row only reports a figure."""

    name: str
    ours: float | None
    reference: float | None
    unit: str
    target: str
    passed: bool | None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.reference:
            return None
        return self.ours / self.reference


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: p95 of 50 values is the 48th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process from /proc (no psutil), in MiB."""
    path = f"/proc/{pid or os.getpid()}/status"
    with open(path) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return math.nan


def machine_description() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
            mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){mem}"


class Stack:
    """An embedded backend on its own port with the latency proxy in front of it."""

    def __init__(
        self,
        data_dir: Path,
        *,
        delay_s: float = 0.0,
        uplink_bps: float | None = None,
        downlink_bps: float | None = None,
        **overrides: Any,
    ) -> None:
        backend_port = free_port()
        self.proxy = LatencyProxy(
            backend_port, delay_s=delay_s, uplink_bps=uplink_bps, downlink_bps=downlink_bps
        )
        settings = {**BENCH_LIMITS, **overrides, "public_base_url": self.proxy.base_url}
        self.backend = EmbeddedBackend(data_dir, port=backend_port, **settings)

    def start(self) -> Stack:
        self.proxy.start()
        self.backend.start()
        return self

    def stop(self) -> None:
        self.backend.stop()
        self.proxy.stop()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        """Where clients talk to: the proxy."""
        return self.proxy.base_url

    @property
    def convex_url(self) -> str:
        return self.proxy.base_url + "/convex"

    def token(self, user_id: str = "bench-user") -> str:
        """A long-lived dev token, fetched directly (not through the proxy)."""
        resp = httpx.post(
            f"{self.backend.base_url}/api/dev/token", json={"userId": user_id}, timeout=10
        )
        resp.raise_for_status()
        return str(resp.json()["token"])

    def local_provider(self) -> Any:
        """The backend's LocalProvider instance (benchmarks set per-job durations on it)."""
        return self.backend.app.state.providers.by_name("local")
