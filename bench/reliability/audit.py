"""After a run: prove from the backend's own databases that nothing leaked or got lost.

Reads the Convex host's tables and the local provider's job table (read-only, nothing goes
through our HTTP code): the SQLite files in the backend data dir, or the PostgreSQL
database the backend was given (``database_url``). Reports, as sentences:

* the seed's invariants (``backend.convex_host.invariants.check_invariants``): every slot
  terminal, nothing reserved, no tile left loading;
* credits charged == the catalog cost of the generations that completed;
* every job the provider finished has its images on a Convex row, as store URLs whose
  files exist; a finished job no client ever heard of (the client died between the
  provider accepting it and the answer arriving) is counted as an orphan, separately;
  one the client had journaled is a problem.

Prompts carry a tag ``#<n>`` so rows and jobs map back to the planned request (and cost).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from backend.app import CONVEX_DB_NAME
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.invariants import check_invariants
from backend.convex_host.tables import holds, session_generations, users
from backend.providers.local_queue_tables import jobs
from backend.providers.registry import LOCAL_DB_NAME
from backend.results_cache import job_key
from backend.store.factory import LOCAL_STORE_DIR
from bench.reliability.db_read import read_rows, store_target

TAG = re.compile(r"#(\d+)\b")


def tag_of(prompt: str) -> int | None:
    found = TAG.search(prompt or "")
    return int(found.group(1)) if found else None


@dataclass
class AuditReport:
    problems: list[str] = field(default_factory=list)
    completed_tags: set[int] = field(default_factory=set)
    failed_tags: set[int] = field(default_factory=set)
    charged: float = 0.0
    expected_charge: float = 0.0
    provider_finished: int = 0
    orphan_jobs: list[str] = field(default_factory=list)
    duplicate_jobs: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (
            f"{len(self.completed_tags)} completed, {len(self.failed_tags)} failed, "
            f"charged {self.charged:g} (expected {self.expected_charge:g}), "
            f"{self.provider_finished} provider jobs finished, "
            f"{len(self.orphan_jobs)} orphaned, {len(self.problems)} problems"
        )


def _store_file(data_dir: Path, url: str) -> Path | None:
    """The file behind a local-store URL (``.../files/<key>``), if it exists."""
    if "/files/" not in url:
        return None
    path = data_dir / LOCAL_STORE_DIR / url.split("/files/", 1)[1]
    return path if path.is_file() else None


def job_id_of(request_id: str) -> str | None:
    """The provider job id inside a signed request id (payload read, signature ignored)."""
    payload = request_id.split(".", 1)[0]
    try:
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error):
        return None
    job = body.get("r") if isinstance(body, dict) else None
    return job if isinstance(job, str) else None


def audit(
    data_dir: Path,
    user_id: str,
    costs: Mapping[int, float],
    starting_credits: float,
    store_base_url: str,
    journaled_job_ids: set[str] | None = None,
    database_url: str | None = None,
) -> AuditReport:
    """Check one user's state in the backend at ``data_dir`` (see the module docstring);
    ``database_url``: the database the backend was given instead of its SQLite files."""
    report = AuditReport()
    convex = store_target(data_dir, CONVEX_DB_NAME, database_url)
    found = read_rows(
        convex,
        select(users.c["_id"], users.c.credits, users.c.additionalCredits).where(
            users.c.subject == user_id
        ),
        table=users.name,
    )
    if not found:
        report.problems.append(f"user {user_id} does not exist in Convex")
        return report
    with ConvexDatabase(convex) as db:
        report.problems += check_invariants(db, user_id)
    uid = found[0]["_id"]
    report.charged = (
        starting_credits - float(found[0]["credits"]) - float(found[0]["additionalCredits"])
    )
    images_by_tag: dict[int, list[set[str]]] = {}
    generations = session_generations.c
    for row in read_rows(
        convex,
        select(generations.prompt, generations.images, generations.isLoading, generations.error)
        .where(generations.userId == uid)
        .order_by(generations.createdAt),
        table=session_generations.name,
    ):
        tag = tag_of(row["prompt"])
        urls = {img["url"] for img in json.loads(row["images"] or "[]")}
        if tag is None:
            continue
        if row["error"] is None and urls and not row["isLoading"]:
            if tag in report.completed_tags:
                report.problems.append(f"#{tag} completed twice in Convex")
            report.completed_tags.add(tag)
            images_by_tag.setdefault(tag, []).append(urls)
            for url in urls:
                if not url.startswith(store_base_url.rstrip("/") + "/files/"):
                    report.problems.append(f"#{tag} has an image outside our store: {url}")
                elif _store_file(data_dir, url) is None:
                    report.problems.append(f"#{tag} image file is missing: {url}")
        elif row["error"] is not None:
            report.failed_tags.add(tag)
    report.expected_charge = sum(costs.get(t, 0.0) for t in report.completed_tags)
    if abs(report.charged - report.expected_charge) > 1e-6:
        report.problems.append(
            f"charged {report.charged:g} credits but completed generations cost "
            f"{report.expected_charge:g}"
        )
    settled_jobs = {
        row["jobKey"]: row["state"]
        for row in read_rows(
            convex,
            select(holds.c.jobKey, holds.c.state).where(holds.c.jobKey.is_not(None)),
            table=holds.name,
        )
    }
    jobs_by_tag: dict[int, int] = {}
    for job in read_rows(
        store_target(data_dir, LOCAL_DB_NAME, database_url),
        select(jobs.c.id, jobs.c.request_json, jobs.c.state, jobs.c.result_json).order_by(
            jobs.c.seq
        ),
        table=jobs.name,
    ):
        tag = tag_of(json.loads(job["request_json"]).get("prompt", ""))
        if tag is None or tag not in costs:
            continue
        jobs_by_tag[tag] = jobs_by_tag.get(tag, 0) + 1
        # docs/billing.md: no provider job without a hold, and every hold settled.
        hold_state = settled_jobs.get(job_key("local", job["id"]))
        if hold_state is None:
            report.problems.append(f"#{tag}: provider job {job['id']} has no billing hold")
        elif hold_state != "settled" and job["state"] in ("completed", "failed", "cancelled"):
            report.problems.append(f"#{tag}: provider job {job['id']} ended but was never settled")
        if job["state"] != "completed":
            continue
        report.provider_finished += 1
        urls = {img["url"] for img in json.loads(job["result_json"] or "[]")}
        if any(urls <= saved for saved in images_by_tag.get(tag, [])):
            continue
        if journaled_job_ids is not None and job["id"] in journaled_job_ids:
            # The client knew this job: losing its images is a bug, not bad luck.
            report.problems.append(f"#{tag}: finished job {job['id']} never reached Convex")
        else:
            report.orphan_jobs.append(f"#{tag} job {job['id']}")
    report.duplicate_jobs = sum(n - 1 for n in jobs_by_tag.values() if n > 1)
    return report
