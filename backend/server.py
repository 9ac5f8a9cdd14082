"""Running the backend: in-process for the desktop app and tests, or as `imagegen serve`.

``EmbeddedBackend`` runs uvicorn in a thread on a free loopback port, with embedded
defaults (own keys, local store, local provider). ``serve_main`` is the ``imagegen serve``
command: real providers and Clerk from the environment, uvicorn in the foreground.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from platformdirs import user_data_dir
from sqlalchemy.engine import make_url

from backend.app import create_app
from backend.config import BackendConfig
from backend.private_files import replace_private_file
from backend.runner import ThreadedServer, free_port
from backend.storage.engine import database_url

LOOPBACK = "127.0.0.1"
PORT_FILE = "embedded-port"


class EmbeddedBackend:
    """The whole backend on ``http://127.0.0.1:<free port>``; ``start()`` / ``stop()``."""

    def __init__(self, data_dir: Path, *, port: int | None = None, **config_overrides: Any) -> None:
        # The port is chosen before the app is built: the local store's public URLs and the
        # presigned upload URLs must carry the address clients will really use.
        self.port = port or remembered_port(Path(data_dir))
        base_url = f"http://{LOOPBACK}:{self.port}"
        settings: dict[str, Any] = {"embedded": True, "public_base_url": base_url}
        settings.update(config_overrides)
        self._config = BackendConfig(data_dir=Path(data_dir), **settings)
        self._app: FastAPI | None = None
        self._server: ThreadedServer | None = None

    @property
    def config(self) -> BackendConfig:
        return self._config

    @property
    def app(self) -> FastAPI:
        if self._app is None:
            raise RuntimeError("the embedded backend has not been started")
        return self._app

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def convex_url(self) -> str:
        return self.base_url + "/convex"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self, timeout: float = 15.0) -> EmbeddedBackend:
        if self._server is not None:
            return self
        self._app = create_app(self._config)
        self._server = ThreadedServer(self._app, host=LOOPBACK, port=self.port).start(timeout)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> EmbeddedBackend:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _can_bind(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same option uvicorn uses, so a port left in TIME_WAIT by our last run counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def remembered_port(data_dir: Path) -> int:
    """The port this data dir's backend used last time if it is free, else a new one.

    Image URLs of the local store carry the port and clients keep them (in Convex, in the
    journal), so reusing the port keeps them valid across restarts.
    """
    path = data_dir / PORT_FILE
    try:
        previous = int(path.read_text().strip())
    except (OSError, ValueError):
        previous = 0
    if 1024 <= previous <= 65535 and _can_bind(previous):
        return previous
    port = free_port(LOOPBACK)
    try:
        replace_private_file(path, str(port).encode())
    except OSError:
        pass  # a read-only data dir only loses the reuse, not the backend
    return port


def default_data_dir() -> Path:
    return Path(user_data_dir("imagegen")) / "server"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imagegen serve",
        description=(
            "Run the imagegen backend. Real providers, R2, Redis and Clerk come from the "
            "environment (FAL_KEY, WAVESPEED_API_KEY, AZURE_API_KEY, R2_*, REDIS_URL, "
            "CLERK_JWKS_URL, ...)."
        ),
    )
    parser.add_argument(
        "--host", default=LOOPBACK, help="address to listen on (default %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8765, help="port (default %(default)s)")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="keys, local store and databases"
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        default=os.environ.get("DATABASE_URL") or None,
        help=(
            "where all server state lives: a PostgreSQL URL "
            "(postgresql+psycopg://user:password@host/db) shared by any number of server "
            "processes, or a SQLite file; default $DATABASE_URL, else SQLite files in the "
            "data dir"
        ),
    )
    parser.add_argument(
        "--public-url",
        default=os.environ.get("PUBLIC_BASE_URL"),
        help="the URL clients reach this server at (default http://HOST:PORT)",
    )
    parser.add_argument(
        "--local-providers",
        action="store_true",
        help="use the local provider for models whose real provider has no key",
    )
    parser.add_argument(
        "--dev-auth",
        action="store_true",
        help="without CLERK_JWKS_URL: use the server's own key pair and POST /api/dev/token",
    )
    parser.add_argument(
        "--allow-remote-dev-auth",
        action="store_true",
        help=(
            "let --dev-auth listen on a non-loopback --host (anyone who can reach it can "
            "mint tokens for any user)"
        ),
    )
    return parser


def is_loopback_host(host: str) -> bool:
    """True for an address only this machine can reach: 127.0.0.0/8, ::1, "localhost"."""
    if host.strip().lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # another host name, or "" / "0.0.0.0" style wildcards


def _database(target: str | None) -> str | None:
    """``--database`` as a SQLAlchemy URL (None: SQLite files in the data dir)."""
    if not target:
        return None
    try:
        return database_url(target)
    except Exception as exc:  # an unparseable URL or another engine
        raise SystemExit(f"imagegen serve: --database {target!r}: {exc}") from None


def describe_database(config: BackendConfig) -> str:
    """Where the state is, for the start-up line (never the password)."""
    if config.database_url is None:
        return f"data in {config.data_dir}"
    return f"database {make_url(config.database_url).render_as_string(hide_password=True)}"


def build_serve_config(args: argparse.Namespace) -> BackendConfig:
    """The config for `imagegen serve`; raises SystemExit with one line if auth is missing."""
    data_dir = args.data_dir or default_data_dir()
    clerk = bool(os.environ.get("CLERK_JWKS_URL"))
    if not clerk and not args.dev_auth:
        raise SystemExit(
            "imagegen serve: set CLERK_JWKS_URL (and CLERK_ISSUER) for real sign-in, "
            "or pass --dev-auth to use the server's own development tokens."
        )
    # Clerk wins whenever it is configured; --dev-auth only adds the server's own key pair
    # and /api/dev/token. Neither turns on the local providers (--local-providers does).
    config = BackendConfig.from_env(data_dir, embedded=False, local_providers=args.local_providers)
    config = replace(config, dev_auth=not clerk, database_url=_database(args.database))
    if config.dev_auth and not is_loopback_host(args.host) and not args.allow_remote_dev_auth:
        raise SystemExit(
            "imagegen serve: --dev-auth lets anyone who reaches the server sign in as any "
            f"user, so it only listens on loopback (127.0.0.1, ::1); --host {args.host!r} "
            "needs --allow-remote-dev-auth too."
        )
    host_for_url = LOOPBACK if args.host in ("0.0.0.0", "::", "") else args.host
    public = args.public_url or f"http://{host_for_url}:{args.port}"
    return config.with_base_url(public)


def serve_main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        config = build_serve_config(args)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    app = create_app(config)
    mode = "dev auth" if config.dev_auth else "Clerk auth"
    where = describe_database(config)
    print(f"imagegen backend on {config.public_base_url} ({mode}, {where})")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", timeout_keep_alive=30)
    return 0


if __name__ == "__main__":
    sys.exit(serve_main())
