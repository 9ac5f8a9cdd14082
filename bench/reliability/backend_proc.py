"""An embedded backend in its own process, on a fixed port and data dir, so it can be killed.

    python -m bench.reliability.backend_proc --data-dir DIR --port N \
        [--queue-s 0.5] [--run-s 0.5] [--sync-s 0] [--credits 100000] [--fail-rate 0] \
        [--sweep-s 1] [--database URL]

Prints ``ready <base_url>`` once it accepts connections, then serves until killed.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from backend.server import EmbeddedBackend


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability.backend_proc")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--queue-s", type=float, default=0.5)
    parser.add_argument("--run-s", type=float, default=0.5)
    parser.add_argument("--sync-s", type=float, default=0.0, help="a sync model's call")
    parser.add_argument("--credits", type=int, default=100_000)
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=int, default=100_000)
    # Holds a killed predecessor left are settled at the first sweep after that process
    # counts as gone (the audit waits for it; a short interval keeps the wait short).
    parser.add_argument("--sweep-s", type=float, default=1.0)
    parser.add_argument(
        "--database", metavar="URL", help="PostgreSQL URL (default: SQLite in the data dir)"
    )
    args = parser.parse_args(argv)
    backend = EmbeddedBackend(
        args.data_dir,
        port=args.port,
        local_queue_s=args.queue_s,
        local_run_s=args.run_s,
        local_sync_s=args.sync_s,
        local_fail_rate=args.fail_rate,
        starting_credits=args.credits,
        rate_limit_generate=args.rate_limit,
        rate_limit_presign=args.rate_limit,
        settle_sweep_interval_s=args.sweep_s,
        database_url=args.database,
    ).start()
    print(f"ready {backend.base_url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    backend.stop()
    return 0


class BackendProcess:
    """Start / SIGKILL / restart ``backend_proc`` from a harness."""

    def __init__(self, data_dir: Path, port: int, **options: float | str) -> None:
        self.data_dir = data_dir
        self.port = port
        self.options = options
        self.proc: subprocess.Popen[str] | None = None
        self.kills = 0
        self.last_kill: float | None = None  # time.monotonic() of the last SIGKILL

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> BackendProcess:
        cmd = [
            sys.executable,
            "-m",
            "bench.reliability.backend_proc",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
        ]
        for name, value in self.options.items():
            cmd += [f"--{name.replace('_', '-')}", str(value)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the backend exited with {self.proc.returncode}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError("the backend process did not come up")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.kills += 1
            self.last_kill = time.monotonic()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


if __name__ == "__main__":
    sys.exit(main())
