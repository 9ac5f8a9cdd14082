"""Real `imagegen serve` processes for integration tests: started on a free port, waited
for until `/healthz` answers, and stopped (SIGTERM, then SIGKILL) when the test ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from backend.runner import free_port

REPO = Path(__file__).resolve().parents[2]
# Keys that would make a server call real providers or Clerk, and a shared Redis.
_ENV_KEYS = ("CLERK_JWKS_URL", "FAL_KEY", "FAL_API_KEY", "WAVESPEED_API_KEY", "AZURE_API_KEY")
_SERVE = "import sys; from backend.server import serve_main; sys.exit(serve_main(sys.argv[1:]))"


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _ENV_KEYS and k != "REDIS_URL"}


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str

    def ready(self, startup_s: float = 90) -> str:
        """Wait until it answers /healthz (a startup deadline, not a timing assertion)."""
        deadline = time.monotonic() + startup_s
        while True:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return self.base
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited with {self.proc.returncode}")
            if time.monotonic() > deadline:
                raise AssertionError("serve did not start")
            time.sleep(0.05)


class ServeProcesses:
    def __init__(self) -> None:
        self.servers: list[Server] = []

    def launch(self, args: Iterable[str], env: Mapping[str, str] | None = None) -> Server:
        """Start one (``--port`` is added); call ``ready()`` before using it."""
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE, "--port", str(port), *args],
            cwd=REPO,
            env={**clean_env(), **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = Server(proc, f"http://127.0.0.1:{port}")
        self.servers.append(server)
        return server

    def start(self, args: Iterable[str], env: Mapping[str, str] | None = None) -> str:
        """Start one and wait for it; returns its base URL."""
        return self.launch(args, env).ready()

    def stop_all(self) -> None:
        for server in self.servers:
            server.proc.send_signal(signal.SIGCONT)  # in case a test left it paused
            server.proc.send_signal(signal.SIGTERM)
        for server in self.servers:
            try:
                server.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()
