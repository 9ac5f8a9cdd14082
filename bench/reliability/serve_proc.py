"""`imagegen serve` with the bench's knobs, in its own process (one member of a cluster).

    python -m bench.reliability.serve_proc --port N --data-dir DIR --database URL \
        --public-url http://127.0.0.1:LB [--queue-s 0.5] [--run-s 0.5] [--sync-s 0] \
        [--credits 200] [--rate-limit 30] [--sweep-s 30]

The config is built exactly as `imagegen serve --dev-auth --local-providers` builds it
(``build_serve_config``: the environment's REDIS_URL and the rest, the database URL, the
public URL clients reach it at), then only the knobs a test needs are changed: the local
provider's timings, the starting credits, the rate limits and the sweep interval. The app
and uvicorn are those of ``serve_main``, so the process answers as `imagegen serve` does.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import uvicorn

from backend.app import create_app
from backend.server import LOOPBACK, build_serve_config, describe_database


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability.serve_proc")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--public-url", required=True, help="the load balancer's URL")
    parser.add_argument("--queue-s", type=float, default=0.5)
    parser.add_argument("--run-s", type=float, default=0.5)
    parser.add_argument("--sync-s", type=float, default=0.0)
    parser.add_argument("--credits", type=int, default=200)
    parser.add_argument("--rate-limit", type=int, default=30)
    parser.add_argument("--sweep-s", type=float, default=30.0)
    args = parser.parse_args(argv)
    serve_args = argparse.Namespace(
        host=LOOPBACK,
        port=args.port,
        data_dir=args.data_dir,
        database=args.database,
        public_url=args.public_url,
        local_providers=True,
        dev_auth=True,
        allow_remote_dev_auth=False,
    )
    config = replace(
        build_serve_config(serve_args),
        local_queue_s=args.queue_s,
        local_run_s=args.run_s,
        local_sync_s=args.sync_s,
        starting_credits=args.credits,
        rate_limit_generate=args.rate_limit,
        rate_limit_presign=args.rate_limit,
        settle_sweep_interval_s=args.sweep_s,
    )
    print(f"imagegen backend on port {args.port} ({describe_database(config)})", flush=True)
    uvicorn.run(
        create_app(config),
        host=LOOPBACK,
        port=args.port,
        log_level="warning",  # an access line per request costs the bench's CPU
        timeout_keep_alive=30,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
