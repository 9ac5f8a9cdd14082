"""The client process the crash harness kills: a real GenerationEngine working through a plan.

    python -m bench.reliability.driver --api URL --convex URL --journal PATH --user ID \
        --plan plan.json [--concurrency 3]

On start it resumes its journal (``engine.start()``), then submits every planned request
the journal has not seen yet (prompts carry ``#<n>`` tags), at most ``--concurrency`` at
a time, and exits 0 once everything it knows of has ended. One JSON line per terminal
event goes to stdout so the harness can log what happened before each kill.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.reliability.audit import tag_of
from bench.reliability.engine_kit import FAST_POLL, build_engine
from catalog import Options
from gui.engine.events import EngineEvent, GenerationCompleted, GenerationFailed
from gui.engine.request import EngineRequest


def request_from_plan(item: dict[str, Any]) -> EngineRequest:
    return EngineRequest(
        prompt=item["prompt"],
        options=Options(
            item["model"],
            aspect_ratio=item.get("aspectRatio"),
            num_images=int(item.get("numImages", 1)),
            resolution=item.get("resolution"),
            quality=item.get("quality"),
        ),
        attachments=tuple(Path(p) for p in item.get("attachments", [])),
    )


# Failures that mean "the backend was not there" or "too many running": a user would
# press Retry a moment later.
RETRY_CODES = ("network", "convex_unavailable", "sign_in", "slot_limit")
MAX_RETRIES_PER_GENERATION = 20
RETRY_DELAY_S = 0.5


def _emit(event: EngineEvent) -> None:
    if isinstance(event, GenerationCompleted):
        line = {"event": "completed", "local_id": event.local_id, "images": len(event.image_urls)}
    elif isinstance(event, GenerationFailed):
        line = {"event": "failed", "local_id": event.local_id, "message": event.message}
    else:
        return
    print(json.dumps(line), flush=True)


async def drive(args: argparse.Namespace, plan: list[dict[str, Any]]) -> int:
    policy = replace(FAST_POLL, deadline_s=args.deadline)
    kit = build_engine(args.api, args.convex, Path(args.journal), args.user, poll_policy=policy)
    kit.engine.events.subscribe(_emit)
    loop = asyncio.get_running_loop()
    retries: dict[str, int] = {}
    # Work waiting for a free place: plan items, or local ids to retry (a user pressing
    # Retry after "backend down" or "too many running"), all under one concurrency cap.
    queue: list[dict[str, Any] | str] = []
    waiting: set[str] = set()  # retries whose delay has not passed yet

    def retry_later(event: EngineEvent) -> None:
        if not isinstance(event, GenerationFailed) or event.code not in RETRY_CODES:
            return
        if retries.get(event.local_id, 0) >= MAX_RETRIES_PER_GENERATION:
            return
        waiting.add(event.local_id)

        def ready() -> None:
            waiting.discard(event.local_id)
            queue.append(event.local_id)

        loop.call_later(RETRY_DELAY_S, ready)

    if args.retry_unreachable:
        kit.engine.events.subscribe(retry_later)
    try:
        resumed = await kit.engine.start()
        print(json.dumps({"event": "resumed", "count": len(resumed)}), flush=True)
        seen = {tag_of(row.request.get("prompt", "")) for row in kit.journal.all()}
        queue.extend(item for item in plan if tag_of(item["prompt"]) not in seen)
        # The engine exposes no completion signal per run; a short poll is enough here.
        while queue or waiting or kit.engine.in_flight():
            if not queue or len(kit.engine.in_flight()) >= args.concurrency:
                await asyncio.sleep(0.02)
                continue
            work = queue.pop(0)
            if isinstance(work, str):
                retries[kit.engine.retry(work)] = retries.pop(work, 0) + 1
            else:
                kit.engine.submit(request_from_plan(work))
        print(json.dumps({"event": "idle"}), flush=True)
    finally:
        await kit.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability.driver")
    parser.add_argument("--api", required=True)
    parser.add_argument("--convex", required=True)
    parser.add_argument("--journal", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--plan", required=True)
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument(
        "--deadline", type=float, default=FAST_POLL.deadline_s, help="poll deadline, seconds"
    )
    parser.add_argument(
        "--retry-unreachable",
        action="store_true",
        help="retry generations that failed because the backend was down or all slots were "
        "taken (like a user would)",
    )
    args = parser.parse_args(argv)
    return asyncio.run(drive(args, json.loads(Path(args.plan).read_text())))


if __name__ == "__main__":
    sys.exit(main())
