"""The embedded backend alone in a process, so its memory can be read from /proc.

``python -m bench.backend_server DATA_DIR`` starts it on a free loopback port with the
benchmark limits and prints ``READY <port>``; it runs until stdin closes. Queued jobs wait
an hour in the queue, so long polls stay open for as long as the client holds them.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

from backend.server import EmbeddedBackend
from bench.harness import BENCH_LIMITS


def main(argv: list[str]) -> int:
    # Thousands of held connections need as many descriptors.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    backend = EmbeddedBackend(
        Path(argv[0]),
        **BENCH_LIMITS,
        local_queue_s=3600.0,
        local_run_s=1.0,
        max_wait_s=600.0,
    ).start()
    print(f"READY {backend.port}", flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin
    finally:
        backend.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
