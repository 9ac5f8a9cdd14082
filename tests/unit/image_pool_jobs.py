"""Functions the image-pool tests send to worker processes (importable by a spawned worker,
so they live in a module of their own, not in a test file)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from backend.providers.local_render_job import render_in_worker


def pid_and_niceness() -> tuple[int, int]:
    return os.getpid(), os.nice(0)


def add(a: int, b: int) -> int:
    return a + b


def crash() -> None:
    """What a segfault or the OOM killer does to a worker: gone, no exception, no cleanup."""
    os._exit(3)


def wait_for_gate(gate: str, timeout_s: float = 30.0) -> float:
    """Block the worker until ``gate`` exists; returns when it started (time.time())."""
    started = time.time()
    deadline = time.monotonic() + timeout_s
    while not Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return started


def started_at() -> float:
    return time.time()


def touch(path: str) -> None:
    Path(path).write_text("ran")


def fail_with_value_error() -> None:
    raise ValueError("a readable reason")


def crash_render(spec: object, index: int, with_variants: bool) -> tuple[bytes, dict[int, bytes]]:
    """A LocalProvider.render_in_worker whose worker dies mid-render."""
    os._exit(3)


def gated_render(spec: Any, index: int, with_variants: bool) -> tuple[bytes, dict[int, bytes]]:
    """A LocalProvider.render_in_worker that renders only once ``<prompt>.open`` exists (the
    test's prompt is a path), so a test can act while the render is in a worker."""
    wait_for_gate(spec.prompt + ".open")
    return render_in_worker(spec, index, with_variants)
