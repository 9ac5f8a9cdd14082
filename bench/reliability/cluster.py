"""N server processes on one database behind the loopback round-robin, plus a redis-server.

    with ServeCluster(data_dir, database_url, redis_url, size=3, credits=500) as cluster:
        ... clients use cluster.base_url (the balancer) ...
        cluster.kill(1)            # SIGKILL one member; the balancer skips it from then on

Every member is ``bench.reliability.serve_proc`` (`imagegen serve` with the bench's
knobs) on its own port, sharing the data dir (signing keys, the local object store: what
R2 is to a real deployment), the database and Redis, and advertising the balancer's URL
as its public URL, so any member can answer any request, files included.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import redis

from backend.runner import free_port

REPO = Path(__file__).resolve().parents[2]
# A member must not pick these up from the bench's environment: real sign-in, real
# providers, or a database other than the one it is given.
_DROPPED_ENV = (
    "CLERK_JWKS_URL", "CLERK_ISSUER", "FAL_KEY", "FAL_API_KEY", "WAVESPEED_API_KEY",
    "AZURE_API_KEY", "AZURE_OPENAI_API_KEY", "DATABASE_URL", "REDIS_URL",
)  # fmt: skip
START_DEADLINE_S = 90.0  # a start-up deadline on a loaded machine, not a timing claim


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} while starting")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {START_DEADLINE_S:g} s")
        time.sleep(0.1)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_balancer(port: int, upstreams: list[int]) -> subprocess.Popen[bytes]:
    """The round-robin balancer (bench.reliability.round_robin) in its own process; it is
    serving once ``GET /_lb/stats`` answers."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.reliability.round_robin",
            "--port",
            str(port),
            "--upstream",
            ",".join(map(str, upstreams)),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/_lb/stats", proc, "the balancer")
    except BaseException:
        stop_process(proc)
        raise
    return proc


class ServeCluster:
    def __init__(
        self,
        data_dir: Path,
        database_url: str,
        redis_url: str,
        size: int = 3,
        log_dir: Path | None = None,
        **knobs: Any,
    ) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.redis_url = redis_url
        self.knobs = knobs  # serve_proc options: queue_s, run_s, sync_s, credits, ...
        self.log_dir = log_dir  # each member's output goes to member-<port>.log there
        self.ports = [free_port() for _ in range(size)]
        self.lb_port = free_port()
        self.members: list[subprocess.Popen[bytes]] = []
        self.balancer: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.lb_port}"

    def member_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
        return {**env, "REDIS_URL": self.redis_url}

    def _start_member(self, port: int) -> subprocess.Popen[bytes]:
        cmd = [
            sys.executable, "-m", "bench.reliability.serve_proc", "--port", str(port),
            "--data-dir", str(self.data_dir), "--database", self.database_url,
            "--public-url", self.base_url,
        ]  # fmt: skip
        for name, value in self.knobs.items():
            cmd += [f"--{name.replace('_', '-')}", str(value)]
        if self.log_dir is None:
            return subprocess.Popen(
                cmd, cwd=REPO, env=self._env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"member-{port}.log").open("ab") as log:
            return subprocess.Popen(
                cmd, cwd=REPO, env=self._env(), stdout=log, stderr=subprocess.STDOUT
            )

    def start(self) -> ServeCluster:
        try:
            self.balancer = start_balancer(self.lb_port, self.ports)
            # All members start at once: the schema ladder must cope (one migrates).
            self.members = [self._start_member(port) for port in self.ports]
            for index, proc in enumerate(self.members):
                _wait_healthy(self.member_url(index) + "/healthz", proc, f"member {index}")
        except BaseException:
            self.stop()
            raise
        return self

    def kill(self, index: int) -> None:
        """SIGKILL one member: no shutdown, no goodbye in the database."""
        proc = self.members[index]
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def alive(self, index: int) -> bool:
        return self.members[index].poll() is None

    def stats(self) -> dict[str, dict[str, int]]:
        """The balancer's counts: requests ``sent`` to and connects ``refused`` by each port."""
        stats: dict[str, dict[str, int]] = httpx.get(self.base_url + "/_lb/stats").json()
        return stats

    def stop(self) -> None:
        for proc in self.members:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.members:
            stop_process(proc)
        if self.balancer is not None:
            stop_process(self.balancer)

    def __enter__(self) -> ServeCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class RedisServer:
    """A throwaway redis-server on a free loopback port, no persistence (the bench's, and
    the tests' ``redis_url`` fixture)."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="imagegen-redis-"))
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.ping():
                    break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)
