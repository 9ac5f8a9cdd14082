"""Backend configuration: one immutable object built from arguments and the environment.

Embedded mode (the desktop app's default) needs nothing: it makes its own signing keys,
uses the local object store and the local provider for every model. ``imagegen serve``
reads real credentials from the environment.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _env(name: str, *alts: str) -> str | None:
    for key in (name, *alts):
        value = os.environ.get(key)
        if value:
            return value
    return None


def _env_seconds(name: str, default: float, *, positive: bool = False) -> float:
    """A number of seconds (>= 0, or > 0 if ``positive``) from the environment;
    ``imagegen serve`` prints the SystemExit's sentence and exits 2 when it is not one."""
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        least = "more than 0" if positive else "at least 0"
        raise SystemExit(
            f"imagegen serve: {name} must be a number of seconds ({least}), got {raw!r}"
        )
    return value


@dataclass(frozen=True)
class BackendConfig:
    data_dir: Path
    # Embedded: own JWKS + /api/dev/token, local provider for any model without a key.
    embedded: bool = True
    # `serve --local-providers`: use the local provider where no key is configured.
    local_providers: bool = False
    # Filled in by the runner once the port is known, e.g. "http://127.0.0.1:8765".
    public_base_url: str = "http://127.0.0.1:8765"

    # Where all server state lives (the Convex host's tables, billing, the local queue,
    # the results cache): None = SQLite files in data_dir (the embedded default), else a
    # URL, e.g. postgresql+psycopg://user:pass@host/db (`serve --database`, DATABASE_URL).
    database_url: str | None = None

    # Convex-compatible host
    starting_credits: int = 200
    slot_limit: int = 4

    # Rate limits (sliding window, per user): generate and presign share one budget each.
    rate_limit_generate: int = 30
    rate_limit_presign: int = 60
    rate_limit_window_s: float = 60.0
    redis_url: str | None = None

    # Object store
    max_upload_bytes: int = 20 * 1024 * 1024
    presign_expires_s: int = 600
    attachment_allow_list: tuple[str, ...] = ()  # extra URL prefixes accepted as attachments
    r2_account_id: str | None = None
    r2_endpoint_url: str | None = None
    r2_access_key_id: str | None = None
    r2_secret_access_key: str | None = None
    r2_bucket: str | None = None
    r2_public_base_url: str | None = None

    # Auth (real deployment: Clerk)
    clerk_jwks_url: str | None = None
    clerk_issuer: str | None = None
    authorized_parties: tuple[str, ...] = ()
    dev_token_ttl_s: int = 60
    # `serve --dev-auth`: the embedded key pair + /api/dev/token without embedded mode's
    # other defaults (local providers stay off unless --local-providers is given).
    dev_auth: bool = False
    dev_user_id: str = "local-user"

    # Turnstile (web routes only); embedded mode uses Cloudflare's documented test secret.
    turnstile_secret: str | None = None

    # Providers
    fal_key: str | None = None
    wavespeed_key: str | None = None
    azure_api_key: str | None = None
    azure_base_url: str | None = None
    azure_image_edits_url: str | None = None

    # Local provider: seconds a queued job spends in queue / running, and failure injection.
    local_queue_s: float = 1.0
    local_run_s: float = 2.0
    local_fail_rate: float = 0.0
    local_fail_prompts: tuple[str, ...] = ("[fail]",)
    # Seconds a sync model's call takes at the local provider (real ones take seconds;
    # the crash harness uses it to kill a client inside a sync generate call).
    local_sync_s: float = 0.0

    # Long-poll cap for GET /api/generate-images/status?wait=S
    max_wait_s: float = 25.0
    # Cross-process wake-ups (PostgreSQL LISTEN/NOTIFY, or Redis pub/sub with REDIS_URL):
    # a waiter re-reads the state at least this often, so a lost notification costs at
    # most this much (env WAKEUP_RECHECK_S). SQLite keeps its in-process wake-ups.
    wakeup_recheck_s: float = 1.0

    # Billing (docs/billing.md). A sync model's provider call plus rehosting must end before
    # this (the desktop client waits 300 s); past it the route answers 504 still_running
    # and the late result is kept under the request's idempotency key.
    sync_deadline_s: float = 240.0
    # A queued job not finished after this long is cancelled and its hold released.
    job_deadline_s: float = 3600.0
    # How often the sweeper settles jobs nobody polls (0 turns it off).
    settle_sweep_interval_s: float = 30.0
    # A queued job submitted or polled in this process this recently is left to its
    # client's polls; the sweeper asks the provider about it only after (docs/billing.md).
    poll_grace_s: float = 15.0
    # A repeated idempotency key waits this long for the first request's answer.
    replay_wait_s: float = 20.0
    # Advertise "server-billing" in /healthz (off only to test clients of older servers).
    advertise_server_billing: bool = True

    # Secret used to sign request ids and local presigned URLs (made in data_dir if unset).
    signing_secret: bytes | None = field(default=None, repr=False)

    @property
    def sync_work_limit_s(self) -> float:
        """How long a sync call may go on after its answer timed out: its late result is
        kept for a repeat of the key until then; past it the hold is settled failed."""
        return self.sync_deadline_s + 120.0

    def database(self, sqlite_name: str) -> Path | str:
        """Where a store keeps its tables: the shared database when one is configured,
        else its own SQLite file ``sqlite_name`` in the data dir."""
        return self.database_url or self.data_dir / sqlite_name

    @property
    def r2_configured(self) -> bool:
        return bool(
            self.r2_bucket
            and self.r2_access_key_id
            and self.r2_secret_access_key
            and (self.r2_endpoint_url or self.r2_account_id)
        )

    def with_base_url(self, url: str) -> BackendConfig:
        return replace(self, public_base_url=url.rstrip("/"))

    @classmethod
    def from_env(
        cls, data_dir: Path, *, embedded: bool, local_providers: bool = False
    ) -> BackendConfig:
        allow = _env("ATTACHMENT_URL_ALLOW_LIST")
        parties = _env("CLERK_AUTHORIZED_PARTIES", "ALLOWED_ORIGINS")
        return cls(
            data_dir=Path(data_dir),
            embedded=embedded,
            local_providers=local_providers,
            database_url=_env("DATABASE_URL"),
            redis_url=_env("REDIS_URL"),
            r2_account_id=_env("R2_ACCOUNT_ID"),
            r2_endpoint_url=_env("R2_ENDPOINT_URL", "R2_ENDPOINT"),
            r2_access_key_id=_env("R2_ACCESS_KEY_ID"),
            r2_secret_access_key=_env("R2_SECRET_ACCESS_KEY"),
            r2_bucket=_env("R2_BUCKET", "R2_BUCKET_NAME"),
            r2_public_base_url=_env("R2_PUBLIC_BASE_URL", "R2_PUBLIC_URL"),
            clerk_jwks_url=_env("CLERK_JWKS_URL"),
            clerk_issuer=_env("CLERK_ISSUER"),
            authorized_parties=tuple(p.strip() for p in (parties or "").split(",") if p.strip()),
            turnstile_secret=_env("TURNSTILE_SECRET_KEY", "TURNSTILE_SECRET"),
            fal_key=_env("FAL_KEY", "FAL_API_KEY"),
            wavespeed_key=_env("WAVESPEED_API_KEY", "WAVESPEED_KEY"),
            azure_api_key=_env("AZURE_API_KEY", "AZURE_OPENAI_API_KEY"),
            azure_base_url=_env("AZURE_BASE_URL"),
            azure_image_edits_url=_env("AZURE_IMAGE_EDITS_URL"),
            attachment_allow_list=tuple(p.strip() for p in (allow or "").split(",") if p.strip()),
            wakeup_recheck_s=_env_seconds("WAKEUP_RECHECK_S", cls.wakeup_recheck_s, positive=True),
            # `serve --local-providers`: the local provider's simulated timings.
            local_queue_s=_env_seconds("LOCAL_QUEUE_S", cls.local_queue_s),
            local_run_s=_env_seconds("LOCAL_RUN_S", cls.local_run_s),
            local_sync_s=_env_seconds("LOCAL_SYNC_S", cls.local_sync_s),
        )

    # -- Provider fidelity (issue 13) --------------------------------------------------
    @property
    def public_store(self) -> bool:
        """True when stored files have public URLs a provider can fetch (R2 + public URL)."""
        return self.r2_configured and bool(self.r2_public_base_url)

    @property
    def fal_references(self) -> str:
        """How Fal gets reference images: "public-store" (our URLs) or "fal-storage"."""
        return "public-store" if self.public_store else "fal-storage"

    @property
    def provider_sync_timeout_s(self) -> float:
        """A sync provider call's share of ``sync_deadline_s``; rehosting gets the rest."""
        return provider_sync_timeout(self.sync_deadline_s)


# Of the sync deadline, this much (at most a quarter) is kept for rehosting the outputs.
SYNC_REHOST_RESERVE_S = 60.0


def provider_sync_timeout(sync_deadline_s: float) -> float:
    """How long a sync provider call may take within the server's ``sync_deadline_s``."""
    return sync_deadline_s - min(SYNC_REHOST_RESERVE_S, sync_deadline_s / 4)
