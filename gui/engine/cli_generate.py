"""``imagegen generate``: one generation through the same engine the window uses.

Progress goes to stderr, results to stdout (image URLs, or file paths with ``--out``, or
one JSON object with ``--json``). On failure the error sentence goes to stderr and the exit
status is 1 (2 for bad usage or configuration). Without ``--wait`` a queued generation is
left to the journal once submitted; the next start of the app or CLI finishes it.

A deployment that signs in with Clerk (``--clerk-url``) uses the sign-in kept in the keyring.
Without one it signs in first: ``--oauth google|apple`` through the system browser, or with
``--email`` by password (asked on a terminal, where an empty answer asks Clerk to email a
code instead; else IMAGEGEN_PASSWORD) or by an emailed code (IMAGEGEN_EMAIL_CODE without a
terminal). A code Clerk asks for next (second factor, a new device) is asked on the terminal,
else read from IMAGEGEN_EMAIL_CODE.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import mimetypes
import os
import sys
import webbrowser
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import httpx

from catalog import Options
from gui.engine.clerk_sign_in import ClerkSignIn, SignInStep
from gui.engine.clerk_tokens import ClerkTokenProvider
from gui.engine.config import ClientConfig, ConfigurationError, load_client_config
from gui.engine.engine import GenerationEngine
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
from gui.engine.tokens import KeyringStore, SignInError

EXIT_FAILED = 1
EXIT_USAGE = 2
EMBEDDED_URLS_NOTE = (
    "These URLs are served by the built-in backend, which stops with this command; they "
    "open again while `imagegen` runs. Pass --out DIR to save the files."
)


class HeadlessSession(Protocol):
    """What this command needs of an engine session (gui.app.EngineSession is one)."""

    @property
    def engine(self) -> GenerationEngine: ...

    @property
    def embedded(self) -> bool: ...

    async def resume(self) -> None: ...

    async def close(self) -> None: ...


# Opens a session without resuming its journal (the composition root, gui/app.py, hands it
# in: this module does not assemble the engine itself).
SessionOpener = Callable[[ClientConfig], Awaitable[HeadlessSession]]


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
    p.add_argument("--oauth", choices=("google", "apple"), help="sign in through the browser")
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
    """No terminal to ask for a password or code and no environment variable (usage error)."""


def read_password(
    email: str, env: Mapping[str, str] | None = None, interactive: bool | None = None
) -> str:
    """The Clerk password for ``email``: asked on a terminal (empty: use an email code),
    else IMAGEGEN_PASSWORD, else "" when IMAGEGEN_EMAIL_CODE is set."""
    env = os.environ if env is None else env
    interactive = sys.stdin.isatty() if interactive is None else interactive
    if env.get("IMAGEGEN_PASSWORD"):
        return env["IMAGEGEN_PASSWORD"]
    if interactive:
        return getpass.getpass(f"Password for {email} (Enter to get an email code instead): ")
    if env.get("IMAGEGEN_EMAIL_CODE"):
        return ""
    raise PasswordUnavailable(
        f"Signing in as {email} needs a password or an email code, and there is no terminal "
        "to ask for it: set IMAGEGEN_PASSWORD (or IMAGEGEN_EMAIL_CODE), or run the command "
        "once in a terminal."
    )


def read_code(
    step: SignInStep, env: Mapping[str, str] | None = None, interactive: bool | None = None
) -> str:
    """The code ``step`` asks for: on a terminal, else IMAGEGEN_EMAIL_CODE."""
    env = os.environ if env is None else env
    interactive = sys.stdin.isatty() if interactive is None else interactive
    if interactive:
        print(step.message, file=sys.stderr, flush=True)
        return getpass.getpass("Code: ")
    if env.get("IMAGEGEN_EMAIL_CODE"):
        return env["IMAGEGEN_EMAIL_CODE"]
    raise PasswordUnavailable(
        f"{step.message} There is no terminal to ask for it: set IMAGEGEN_EMAIL_CODE, or run "
        "the command once in a terminal."
    )


def _announce(url: str) -> bool:
    print(f"Opening your browser to sign in (or open this address): {url}", file=sys.stderr)
    return webbrowser.open(url)


async def sign_in_for_cli(
    config: ClientConfig, oauth: str | None, client: httpx.AsyncClient
) -> ClientConfig:
    """Sign in to Clerk when the keyring holds no sign-in yet; the config names who is
    signed in (its email) so the engine's token provider finds the saved sign-in."""
    url = config.clerk_frontend_url
    if not url or config.static_token or config.mode != "deployment":
        return config
    hint = None if oauth else config.email
    saved = ClerkTokenProvider(url, hint, store=KeyringStore(), client=client)
    if not saved.signed_in:
        flow = ClerkSignIn(url, KeyringStore(), client=client, open_browser=_announce)
        if oauth:
            step = await flow.with_oauth(oauth)
        elif config.email:
            password = await asyncio.to_thread(read_password, config.email)
            step = await (
                flow.with_password(config.email, password)
                if password
                else flow.with_email_code(config.email)
            )
        else:
            raise PasswordUnavailable("Signing in needs --email or --oauth google|apple.")
        while step.status == "needs_code":
            step = await flow.submit_code(await asyncio.to_thread(read_code, step))
        if step.status != "complete":
            raise SignInError(step.message or "Sign-in did not finish.")
        print(f"signed in as {flow.who}", file=sys.stderr)
    return config.model_copy(update={"email": saved.email})


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


async def run(args: argparse.Namespace, open_session: SessionOpener) -> int:
    try:
        async with httpx.AsyncClient(timeout=15.0) as client:
            config = await sign_in_for_cli(_config(args), args.oauth, client)
    except SignInError as exc:
        failed = "" if isinstance(exc, PasswordUnavailable) else "Sign-in failed: "
        print(f"imagegen generate: {failed}{exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, PasswordUnavailable) else EXIT_FAILED
    try:
        session = await open_session(config)
    except ConfigurationError as exc:
        print(f"imagegen generate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        await session.resume()  # signed in now: the journal's Convex calls can run
        code = await _generate(session.engine, args)
        if code == 0 and session.embedded and not args.out:
            print(EMBEDDED_URLS_NOTE, file=sys.stderr)
        return code
    finally:
        await session.close()


async def _generate(engine: GenerationEngine, args: argparse.Namespace) -> int:
    request = EngineRequest(
        prompt=args.prompt,
        options=Options(
            args.model,
            aspect_ratio=args.aspect_ratio,
            num_images=args.num_images,
            resolution=args.resolution,
            quality=args.quality,
        ),
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


async def _report(engine: GenerationEngine, event: EngineEvent, args: argparse.Namespace) -> int:
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


def main(argv: Sequence[str] | None, open_session: SessionOpener) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    return asyncio.run(run(args, open_session))
