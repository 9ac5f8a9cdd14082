"""Crash and kill harness: SIGKILL the client (and the backend) at random points, restart,
and prove from the backend's databases that nothing leaked, nothing was charged twice and
no finished image was lost.

    python -m bench.reliability.crash_harness [--quick] [--mode client|backend|both]
        [--generations 60] [--kills 12] [--seed 7] [--json OUT]

client mode: the backend runs in this process (it survives); the client engine runs in a
subprocess (``bench.reliability.driver``) that is SIGKILLed — the first and every other
kill exactly while a sync model's generate call is at the provider, the others at random
moments — and
restarted; each restart resumes its journal. backend mode: the backend runs in a
subprocess on a fixed port and data dir and is SIGKILLed mid-queue and restarted while the
client keeps going. Either way a last clean client run resumes what is left; the harness
then waits (within the server's own bound) until the server has settled every hold, and
``audit`` checks the invariants, the charge and the images.

``--database URL`` keeps the backend's state in that database (PostgreSQL) instead of the
SQLite files of its data dir; the harness and the audit read it through the storage layer.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from backend.convex_host.database import ConvexDatabase
from backend.runner import free_port
from backend.server import EmbeddedBackend
from bench.reliability.audit import AuditReport, audit, job_id_of
from bench.reliability.backend_proc import BackendProcess
from bench.reliability.engine_kit import HISTORY_KEPT
from bench.reliability.harness_db import (
    settle_bound_s,
    state_target,
    sync_call_in_flight,
    wait_for_first_hold,
    wait_until_settled,
)
from bench.reliability.plan import attachment_files, make_plan
from catalog import MODELS
from gui.engine.journal import Journal

USER = "crash-user"
CREDITS = 100_000
TIMINGS = {"queue_s": 0.4, "run_s": 0.6, "sync_s": 0.5}
SYNC_MODELS = tuple(m.id for m in MODELS.values() if m.call_type == "sync")
SYNC_CALL_CUT = "inside a sync generate call"
FINAL_RUN_TIMEOUT_S = 300.0
CLIENT_BOOT_LIMIT_S = 60.0
# The servers sweep every second (production: 30 s), so what a killed server left is
# settled soon after its owner counts as gone.
SWEEP_S = 1.0


@dataclass
class CrashResult:
    mode: str
    generations: int
    client_kills: int = 0
    backend_kills: int = 0
    cut_steps: dict[str, int] = field(default_factory=dict)  # step -> runs cut mid-step
    driver_runs: int = 0
    completed: int = 0
    summary: str = ""
    problems: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    duplicate_jobs: int = 0
    settle_wait_s: float = 0.0  # after the last client run, until every hold was settled
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def _driver(
    api: str, journal: Path, plan: Path, retry: bool = False, deadline_s: float | None = None
) -> subprocess.Popen[str]:
    cmd = [
        sys.executable,
        "-m",
        "bench.reliability.driver",
        "--api",
        api,
        "--convex",
        api + "/convex",
        "--journal",
        str(journal),
        "--user",
        USER,
        "--plan",
        str(plan),
    ]
    if retry:
        cmd.append("--retry-unreachable")
    if deadline_s is not None:
        cmd += ["--deadline", str(deadline_s)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, text=True)


def _kill_inside_sync_call(
    proc: subprocess.Popen[str], db: ConvexDatabase, limit_s: float = 60.0
) -> bool:
    """SIGKILL the client while one of its sync generate calls is in flight; False when
    the client ended (or no such call came) first. ``limit_s`` is generous: on a loaded
    machine the client alone may take many seconds to boot."""
    started_ms = time.time() * 1000
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and proc.poll() is None:
        if sync_call_in_flight(db, started_ms, SYNC_MODELS):
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.01)
    return False


def _record_cuts(journal_path: Path, cuts: dict[str, int]) -> None:
    """Which steps the kill interrupted (begun, not ended), for the report."""
    if not journal_path.exists():
        return
    journal = Journal(journal_path, keep_settled=HISTORY_KEPT)  # opening compacts
    try:
        for row in journal.unfinished():
            for step, phase in row.steps.items():
                if phase == "begin":
                    cuts[step] = cuts.get(step, 0) + 1
            if not any(p == "begin" for p in row.steps.values()):
                last = max(row.steps, key=list(row.steps).index) if row.steps else "created"
                cuts[f"after {last}"] = cuts.get(f"after {last}", 0) + 1
    finally:
        journal.close()


def _journaled_job_ids(journal_path: Path) -> set[str]:
    journal = Journal(journal_path, keep_settled=HISTORY_KEPT)  # opening compacts
    try:
        ids = {job_id_of(r.request_id) for r in journal.all() if r.request_id}
    finally:
        journal.close()
    return {i for i in ids if i}


def _final_run(
    api: str, journal: Path, plan: Path, result: CrashResult, deadline_s: float | None = None
) -> None:
    """Clean runs until the driver ends by itself: it resumes and finishes everything."""
    for _ in range(2):
        proc = _driver(api, journal, plan, deadline_s=deadline_s)
        result.driver_runs += 1
        proc.wait(FINAL_RUN_TIMEOUT_S)
        if proc.returncode != 0:
            result.problems.append(f"the final client run exited with {proc.returncode}")


def _settle_then_audit(
    data_dir: Path,
    database_url: str | None,
    base_url: str,
    journal: Path,
    costs: dict[int, float],
    result: CrashResult,
    last_kill: float | None,
) -> AuditReport:
    """Wait until the server has settled every hold, then audit.

    The last client run ending does not mean the server is done: a hold a killed server
    left mid-call is taken for an orphan only once that server has been silent
    ``STALE_S`` (no process can tell a dead server from a slow one sooner), and a queued
    job nobody polls is settled at the next sweep. Auditing at once would report those as
    leaks by luck of timing, so the harness waits for the server's own settle condition
    (no unsettled hold), bounded by those rules; anything still unsettled then is a bug.
    """
    with ConvexDatabase(state_target(data_dir, database_url)) as db:
        waited = wait_until_settled(db, settle_bound_s(last_kill, SWEEP_S))
    result.settle_wait_s = waited.seconds
    result.problems += waited.problems()
    return audit(
        data_dir,
        USER,
        costs,
        CREDITS,
        base_url,
        _journaled_job_ids(journal),
        database_url=database_url,
    )


def _finish(result: CrashResult, report: AuditReport, started: float) -> CrashResult:
    result.summary = report.summary()
    result.completed = len(report.completed_tags)
    result.problems += report.problems
    result.orphans = report.orphan_jobs
    result.duplicate_jobs = report.duplicate_jobs
    result.seconds = round(time.monotonic() - started, 1)
    return result


def _prepare(work: Path, generations: int, seed: int) -> tuple[Path, dict[int, float]]:
    plan = make_plan(generations, seed, attachment_files(work / "inputs"))
    plan_path = work / "plan.json"
    plan_path.write_text(json.dumps(plan, indent=1))
    return plan_path, {i: float(item["cost"]) for i, item in enumerate(plan)}


def run_client_kills(
    work: Path,
    generations: int,
    kills: int,
    seed: int,
    kill_window: tuple[float, float] = (0.8, 4.0),
    database_url: str | None = None,
) -> CrashResult:
    """The backend lives in this process; the client is killed ``kills`` times, each at a
    random moment ``kill_window`` seconds after it was started (it needs ~0.6 s to boot).
    ``database_url``: the backend's database (default: SQLite files in its data dir)."""
    started = time.monotonic()
    rng = random.Random(seed)
    plan_path, costs = _prepare(work, generations, seed)
    journal = work / "client" / "journal.sqlite3"
    result = CrashResult("client", generations)
    backend = EmbeddedBackend(
        work / "backend",
        local_queue_s=TIMINGS["queue_s"],
        local_run_s=TIMINGS["run_s"],
        local_sync_s=TIMINGS["sync_s"],
        starting_credits=CREDITS,
        rate_limit_generate=100_000,
        rate_limit_presign=100_000,
        settle_sweep_interval_s=SWEEP_S,
        database_url=database_url,
    ).start()
    data_dir = backend.config.data_dir
    try:
        with ConvexDatabase(state_target(data_dir, database_url)) as db:
            for n in range(kills):
                proc = _driver(backend.base_url, journal, plan_path)
                result.driver_runs += 1
                if n % 2 == 0:
                    # Every other kill lands inside a sync model's generate call: the server
                    # goes on with it, and the restarted client gets its answer by key.
                    if _kill_inside_sync_call(proc, db):
                        result.client_kills += 1
                        cuts = result.cut_steps
                        cuts[SYNC_CALL_CUT] = cuts.get(SYNC_CALL_CUT, 0) + 1
                        _record_cuts(journal, cuts)
                        continue
                try:
                    proc.wait(rng.uniform(*kill_window))
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    result.client_kills += 1
                    _record_cuts(journal, result.cut_steps)
        _final_run(backend.base_url, journal, plan_path, result)
        report = _settle_then_audit(
            data_dir, database_url, backend.base_url, journal, costs, result, last_kill=None
        )
    finally:
        backend.stop()
    return _finish(result, report, started)


def run_backend_kills(
    work: Path,
    generations: int,
    kills: int,
    seed: int,
    deadline_s: float | None = None,
    database_url: str | None = None,
) -> CrashResult:
    """The backend runs in a subprocess and is killed ``kills`` times mid-queue.

    A kill while a job renders leaves a claim whose owner is gone; the restarted backend
    takes the job over at once. ``deadline_s`` bounds a short run all the same.
    ``database_url``: the backend's database (default: SQLite files in its data dir)."""
    started = time.monotonic()
    rng = random.Random(seed + 1)
    plan_path, costs = _prepare(work, generations, seed)
    journal = work / "client" / "journal.sqlite3"
    result = CrashResult("backend", generations)
    options: dict[str, float | str] = {
        "queue_s": TIMINGS["queue_s"],
        "run_s": TIMINGS["run_s"],
        "credits": CREDITS,
        "sweep_s": SWEEP_S,
    }
    if database_url is not None:
        options["database"] = database_url
    server = BackendProcess(work / "backend", free_port(), **options).start()
    try:
        proc = _driver(server.base_url, journal, plan_path, retry=True, deadline_s=deadline_s)
        result.driver_runs += 1
        # The kill clock starts once the queue has work: on a loaded machine the client
        # alone can take seconds to boot, and a kill then would land before anything was
        # asked of the backend (not mid-queue, and a different run each time).
        with ConvexDatabase(state_target(work / "backend", database_url)) as db:
            wait_for_first_hold(db, lambda: proc.poll() is None, CLIENT_BOOT_LIMIT_S)
        while server.kills < kills and proc.poll() is None:
            time.sleep(rng.uniform(0.5, 2.5))
            server.kill()
            time.sleep(rng.uniform(0.0, 0.5))
            server.start()
        result.backend_kills = server.kills
        proc.wait(FINAL_RUN_TIMEOUT_S)
        _final_run(server.base_url, journal, plan_path, result, deadline_s)
        report = _settle_then_audit(
            work / "backend",
            database_url,
            server.base_url,
            journal,
            costs,
            result,
            last_kill=server.last_kill,
        )
    finally:
        server.stop()
    return _finish(result, report, started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability.crash_harness")
    parser.add_argument("--quick", action="store_true", help="8 generations, 2 kills")
    parser.add_argument("--mode", choices=("client", "backend", "both"), default="both")
    parser.add_argument("--generations", type=int, default=60)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument("--work", type=Path, help="keep the data here (default: a temp dir)")
    parser.add_argument(
        "--database",
        metavar="URL",
        help="the backend's database (postgresql+psycopg://user@host/db, empty); default: "
        "SQLite files in the work dir. One mode per database.",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.generations, args.kills = 8, 2
    if args.database and args.mode == "both":
        # Both modes charge the same user: their audits would see each other's money.
        parser.error("--database needs --mode client or --mode backend (one run per database)")
    work = args.work or Path(tempfile.mkdtemp(prefix="imagegen-crash-"))
    results: list[CrashResult] = []
    if args.mode in ("client", "both"):
        results.append(
            run_client_kills(
                work / "client-mode",
                args.generations,
                args.kills,
                args.seed,
                database_url=args.database,
            )
        )
    if args.mode in ("backend", "both"):
        results.append(
            run_backend_kills(
                work / "backend-mode",
                args.generations,
                args.kills,
                args.seed,
                database_url=args.database,
            )
        )
    for r in results:
        status = "OK" if r.ok else "FAILED"
        print(
            f"[{status}] {r.mode} mode: {r.generations} generations, {r.client_kills} client "
            f"kills, {r.backend_kills} backend kills, {r.driver_runs} client runs, "
            f"{r.seconds}s (settled {r.settle_wait_s}s after the last run): {r.summary}"
        )
        if r.cut_steps:
            print("  steps cut by a kill: " + ", ".join(f"{k}={v}" for k, v in r.cut_steps.items()))
        for problem in r.problems:
            print(f"  problem: {problem}")
        for orphan in r.orphans:
            print(f"  orphan (client died before learning of the job): {orphan}")
    if args.json:
        payload: list[dict[str, Any]] = [asdict(r) for r in results]
        args.json.write_text(json.dumps(payload, indent=2))
    print(f"data kept in {work}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
