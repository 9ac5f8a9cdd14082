"""The reliability load across several `imagegen serve` processes on one PostgreSQL database.

    python -m bench.reliability.load_cluster [--quick] [--users 200] [--per-user 5] \
        [--size 3] [--database URL] [--json OUT]

Starts a redis-server (the rate limits are global), ``--size`` server processes behind
the loopback round-robin balancer (bench.reliability.cluster), and drives them with
``bench.reliability.load.run_load`` exactly as the one-process run does: every user's
engine talks to the balancer, and every user's state is audited from the shared database
at the end. Without ``--database`` a throwaway PostgreSQL cluster is started from
Debian's binaries (tests/postgres_cluster.py) and removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

from bench.reliability.cluster import RedisServer, ServeCluster
from bench.reliability.load import CREDITS, POLL_POLICIES, LoadResult, print_report, run_load
from gui.engine.polling import PollPolicy


def run_cluster_load(
    data_dir: Path,
    database_url: str,
    redis_url: str,
    users: int,
    per_user: int,
    size: int = 3,
    log_dir: Path | None = None,
    poll: PollPolicy = POLL_POLICIES["fast"],
) -> tuple[LoadResult, dict[str, dict[str, int]]]:
    """One load run; returns its result and the balancer's per-process counts (each
    process's warnings and errors go to ``log_dir`` when given)."""
    cluster = ServeCluster(
        data_dir,
        database_url,
        redis_url,
        size=size,
        log_dir=log_dir,
        queue_s=0.5,
        run_s=0.5,
        credits=CREDITS,
        rate_limit=100_000,
        # A member's leftovers are settled within a second or two (as backend_proc does).
        sweep_s=1.0,
    )
    with cluster:
        result = asyncio.run(
            run_load(
                cluster.base_url, data_dir, users, per_user, database_url=database_url, poll=poll
            )
        )
        return result, cluster.stats()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability.load_cluster")
    parser.add_argument("--quick", action="store_true", help="10 users x 2 generations")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--per-user", type=int, default=5)
    parser.add_argument("--size", type=int, default=3, help="server processes (default 3)")
    parser.add_argument("--database", help="a PostgreSQL URL (default: a throwaway cluster)")
    parser.add_argument("--poll", choices=sorted(POLL_POLICIES), default="fast")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.per_user = 10, 2
    from tests.postgres_cluster import PostgresCluster, find_bin_dir

    postgres: PostgresCluster | None = None
    if args.database is None:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            print("PostgreSQL is not installed (apt-get install postgresql)", file=sys.stderr)
            return 2
        postgres = PostgresCluster(bin_dir).start()
    redis_server = RedisServer()
    try:
        url = args.database or (postgres.new_database() if postgres else "")
        work = Path(tempfile.mkdtemp(prefix="imagegen-load-cluster-"))
        result, stats = run_cluster_load(
            work / "shared", url, redis_server.url, args.users, args.per_user, args.size,
            log_dir=work / "logs", poll=POLL_POLICIES[args.poll],
        )  # fmt: skip
        print(f"server logs in {work / 'logs'}")
    finally:
        redis_server.stop()
        if postgres is not None:
            postgres.stop()
    print_report(result)
    print(f"requests per process: {stats['sent']}")
    if args.json:
        args.json.write_text(json.dumps({**result.__dict__, "balancer": stats}, indent=2))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
