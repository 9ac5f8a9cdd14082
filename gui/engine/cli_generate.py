"""``imagegen generate``: one generation through the same engine the window uses.

Progress goes to stderr, results to stdout (image URLs, or file paths with ``--out``, or
one JSON object with ``--json``). On failure the error sentence goes to stderr and the exit
status is 1 (2 for bad usage or configuration). Without ``--wait`` a queued generation is
left to the journal once submitted; the next start of the app or CLI finishes it.

A deployment that signs in with Clerk (``--clerk-url`` and ``--email``) uses the sign-in kept
in the keyring; without one it asks for the password (getpass on a terminal, else the
IMAGEGEN_PASSWORD environment variable).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import mimetypes
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from gui.engine.config import ClientConfig, load_client_config
from gui.engine.events import (
    EngineEvent,
    GenerationCancelled,
    GenerationCompleted,
    GenerationFailed,
    GenerationProgress,
    Phase,
    UploadProgress,
)
from gui.engine.request import EngineRequest
from gui.engine.tokens import ClerkTokenProvider, SignInError, TokenProvider

EXIT_FAILED = 1
EXIT_USAGE = 2
EMBEDDED_URLS_NOTE = (
    "These URLs are served by the built-in backend, which stops with this command; they "
    "open again while `imagegen` runs. Pass --out DIR to save the files."
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="imagegen generate", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="model id (see `imagegen models`)")
    p.add_argument("--prompt", required=True)
    p.add_argument("--aspect-ratio")
    p.add_argument("--num-images", type=int, default=1)
    p.add_argument("--resolution")
    p.add_argument("--quality")
    p.add_argument("--image", action="append", default=[], type=Path, help="attach (repeat)")
    p.add_argument("--session", help="add to this session id (default: a new session)")
    p.add_argument("--wait", action="store_true", help="wait for queued models to finish")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", type=Path, help="save the images into this directory")
    p.add_argument("--api-url", help="deployment API base URL (default: embedded backend)")
    p.add_argument("--convex-url", help="deployment Convex URL")
    p.add_argument("--token", help="Bearer token for the deployment")
    p.add_argument("--clerk-url", help="Clerk frontend API URL to sign in with")
    p.add_argument("--email", help="the account's email for --clerk-url")
    return p


def _config(args: argparse.Namespace) -> ClientConfig:
    config = load_client_config()
    update: dict[str, Any] = {}
    if args.api_url:
        update.update(mode="deployment", api_base_url=args.api_url.rstrip("/"))
    if args.convex_url:
        update["convex_url"] = args.convex_url.rstrip("/")
    if args.token:
        update["static_token"] = args.token
    if args.clerk_url:
        update["clerk_frontend_url"] = args.clerk_url.rstrip("/")
    if args.email:
        update["email"] = args.email
    return config.model_copy(update=update)


class PasswordUnavailable(SignInError):
    """No terminal to ask for the password and no IMAGEGEN_PASSWORD (a usage error)."""


def read_password(
    email: str, env: Mapping[str, str] | None = None, interactive: bool | None = None
) -> str:
    """The Clerk password for ``email``: asked on a terminal, else IMAGEGEN_PASSWORD."""
    env = os.environ if env is None else env
    interactive = sys.stdin.isatty() if interactive is None else interactive
    if interactive:
        return getpass.getpass(f"Password for {email}: ")
    if env.get("IMAGEGEN_PASSWORD"):
        return env["IMAGEGEN_PASSWORD"]
    raise PasswordUnavailable(
        f"Signing in as {email} needs a password, and there is no terminal to ask for it: "
        "set IMAGEGEN_PASSWORD, or run the command once in a terminal."
    )


async def ensure_signed_in(tokens: TokenProvider) -> None:
    """Sign a Clerk provider in when the keyring holds no sign-in for it yet."""
    if isinstance(tokens, ClerkTokenProvider) and not tokens.signed_in:
        password = await asyncio.to_thread(read_password, tokens.email)
        await tokens.sign_in(password)
        print(f"signed in as {tokens.email}", file=sys.stderr)


def _progress_line(event: EngineEvent) -> str | None:
    if isinstance(event, GenerationProgress):
        return f"{event.phase.value}: {event.detail}" if event.detail else event.phase.value
    if isinstance(event, UploadProgress) and event.sent == event.total:
        return f"uploaded image {event.index + 1} ({event.total:,} bytes)"
    return None


async def _save(urls: Sequence[str], out: Path, stem: str) -> list[Path]:
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    paths: list[Path] = []
    async with httpx.AsyncClient(timeout=60) as client:
        for n, url in enumerate(urls, start=1):
            resp = await client.get(url)
            resp.raise_for_status()
            kind = resp.headers.get("content-type", "").split(";")[0]
            ext = mimetypes.guess_extension(kind) or Path(url).suffix or ".png"
            path = out / f"{stem}-{n}{'.jpg' if ext == '.jpe' else ext}"
            await asyncio.to_thread(path.write_bytes, resp.content)
            paths.append(path)
    return paths


async def run(args: argparse.Namespace) -> int:
    from gui.app import ConfigurationError, open_engine

    try:
        session = await open_engine(_config(args), resume=False)
    except ConfigurationError as exc:
        print(f"imagegen generate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        try:
            await ensure_signed_in(session.tokens)
        except SignInError as exc:
            print(f"imagegen generate: {exc}", file=sys.stderr)
            return EXIT_USAGE if isinstance(exc, PasswordUnavailable) else EXIT_FAILED
        await session.resume()  # signed in now: the journal's Convex calls can run
        code = await _generate(session.engine, args)
        if code == 0 and session.backend is not None and not args.out:
            print(EMBEDDED_URLS_NOTE, file=sys.stderr)
        return code
    finally:
        await session.close()


async def _generate(engine: Any, args: argparse.Namespace) -> int:
    request = EngineRequest(
        prompt=args.prompt,
        model=args.model,
        aspect_ratio=args.aspect_ratio,
        num_images=args.num_images,
        resolution=args.resolution,
        quality=args.quality,
        attachments=tuple(args.image),
        session_id=args.session,
    )
    finished: asyncio.Future[EngineEvent] = asyncio.get_running_loop().create_future()
    local_id = ""

    def on_event(event: EngineEvent) -> None:
        if getattr(event, "local_id", None) != local_id:
            return
        if (line := _progress_line(event)) is not None:
            print(line, file=sys.stderr, flush=True)
        terminal = isinstance(event, GenerationCompleted | GenerationFailed | GenerationCancelled)
        queued = isinstance(event, GenerationProgress) and event.phase == Phase.QUEUED
        if not finished.done() and (terminal or (queued and not args.wait)):
            finished.set_result(event)

    engine.events.subscribe(on_event)
    local_id = engine.submit(request)
    event = await finished
    return await _report(engine, event, args)


async def _report(engine: Any, event: EngineEvent, args: argparse.Namespace) -> int:
    if isinstance(event, GenerationCompleted):
        files = (
            await _save(event.image_urls, args.out, event.generation_id or event.local_id)
            if args.out
            else []
        )
        if args.json:
            print(
                json.dumps(
                    {
                        "status": "completed",
                        "generationId": event.generation_id,
                        "sessionId": event.session_id,
                        "images": list(event.image_urls),
                        "files": [str(f) for f in files],
                    }
                )
            )
        else:
            print("\n".join(str(f) for f in files) if files else "\n".join(event.image_urls))
        return 0
    if isinstance(event, GenerationProgress):  # queued, not waiting
        row = engine.journal.get(event.local_id)
        request_id = row.request_id if row else None
        if args.json:
            print(
                json.dumps(
                    {
                        "status": "queued",
                        "requestId": request_id,
                        "generationId": event.generation_id,
                        "sessionId": event.session_id,
                    }
                )
            )
        else:
            print(f"queued {request_id}")
            print(
                "The generation continues in the background; the next start of imagegen "
                "saves its images (or pass --wait).",
                file=sys.stderr,
            )
        return 0
    message = getattr(event, "message", None) or getattr(event, "reason", "Cancelled.")
    code = getattr(event, "code", "cancelled")
    if args.json:
        print(json.dumps({"status": "failed", "error": message, "code": code}))
    print(f"imagegen generate: {message}", file=sys.stderr)
    return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    return asyncio.run(run(args))
