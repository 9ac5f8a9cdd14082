"""The FastAPI application: wires config, auth, rate limits, store, providers and routes.

``create_app(config)`` builds everything that needs no event loop up front (so tests and
the embedded runner can reach ``app.state``); the lifespan opens and closes what does
(the HTTP client used to rehost provider outputs, Redis connections, provider clients).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI

from backend.auth.dev_keys import DevKeyPair
from backend.auth.verifier import JwtVerifier
from backend.billing.job_states import resolve_orphan
from backend.billing.service import Billing
from backend.billing.sweeper import Sweeper
from backend.config import BackendConfig
from backend.convex_host.database import ConvexDatabase
from backend.convex_host.router import build_convex_router
from backend.errors import install_error_handlers
from backend.gc_tuning import freeze_startup_objects
from backend.image_work_pool import ImageWorkPool
from backend.log_redaction import install_access_log_redaction
from backend.openapi import install_openapi
from backend.providers.fal_references import log_reference_mode
from backend.providers.registry import ProviderRegistry
from backend.ratelimit import make_rate_limiter
from backend.rehost import Rehoster
from backend.request_ids import RequestIdSigner
from backend.results_cache import ResultsCache
from backend.routes import cancel, generate, health, models, presign, preview, status
from backend.routes.dev import build_dev_router
from backend.secrets import load_or_create_secret
from backend.storage.notify import make_notifier
from backend.store.factory import make_store
from backend.store.local import LocalObjectStore
from backend.variant_writer import VariantWriter

log = logging.getLogger(__name__)

CONVEX_DB_NAME = "convex.sqlite3"
RESULTS_DB_NAME = "results.sqlite3"


def _make_verifier(config: BackendConfig, dev_keys: DevKeyPair | None) -> JwtVerifier | None:
    if dev_keys is not None:
        return JwtVerifier.from_dev_keys(dev_keys)
    if config.clerk_jwks_url:
        return JwtVerifier.from_jwks_url(
            config.clerk_jwks_url, config.clerk_issuer, config.authorized_parties
        )
    # No way to verify anyone: every authenticated route answers 503 auth_not_configured.
    log.warning("no JWKS configured: authenticated routes will answer 503")
    return None


async def _close(resource: Any) -> None:
    """Close whatever kind of closer ``resource`` has; shutdown must not stop halfway."""
    for name in ("aclose", "close"):
        closer = getattr(resource, name, None)
        if closer is None:
            continue
        try:
            result = closer()
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("closing %s failed", type(resource).__name__)
        return


def create_app(config: BackendConfig) -> FastAPI:
    data_dir = config.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    store = make_store(config)
    dev_keys = DevKeyPair.load_or_create(data_dir) if config.embedded or config.dev_auth else None
    secret = config.signing_secret or load_or_create_secret(data_dir)
    convex_db = ConvexDatabase(
        config.database(CONVEX_DB_NAME),
        starting_credits=config.starting_credits,
        slot_limit=config.slot_limit,
    )
    # Rendering and variants run in worker processes (started at the first image), so the
    # loop answering requests never queues behind image work.
    image_work = ImageWorkPool()
    # Long polls' wake-ups: in-process on SQLite, LISTEN/NOTIFY or Redis across processes.
    notifier = make_notifier(config.database_url, config.redis_url, config.wakeup_recheck_s)
    providers = ProviderRegistry(config, store, image_work=image_work, notifier=notifier)
    if providers.is_configured("fal"):
        log_reference_mode(config)
    billing = Billing(convex_db, config.replay_wait_s, notifier, config.poll_grace_s)
    limiter = make_rate_limiter(config)
    # One writer for rehosting, references and the local store's first requests, so the
    # CPU work of making variants is bounded across all of them.
    variants = VariantWriter(store, pool=image_work)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Created here so the client belongs to the server's event loop.
        client = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))
        app.state.rehoster = Rehoster(store, client, variants=variants)
        sweeper = Sweeper(
            app, config.settle_sweep_interval_s, config.sync_work_limit_s, config.job_deadline_s
        )
        app.state.sweeper = sweeper
        await notifier.start()
        await billing.start()
        sweeper.start()
        freeze_startup_objects()  # after every import and start-up object (gc_tuning.py)
        try:
            yield
        finally:
            await sweeper.stop()
            await billing.close()
            await variants.close()
            await image_work.close()
            await client.aclose()
            await _close(providers)
            await _close(notifier)
            await _close(limiter)
            await _close(store)
            results.close()
            convex_db.close()

    app = FastAPI(
        title="imagegen backend",
        version="1",
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_openapi(app)
    # Presigned upload URLs carry their signature in the query: keep it out of access logs.
    install_access_log_redaction()
    app.state.config = config
    app.state.store = store
    app.state.dev_keys = dev_keys
    app.state.verifier = _make_verifier(config, dev_keys)
    app.state.limiter = limiter
    app.state.providers = providers
    app.state.request_ids = RequestIdSigner(secret)
    results = ResultsCache(config.database(RESULTS_DB_NAME))
    app.state.results = results
    app.state.convex_db = convex_db
    app.state.billing = billing
    app.state.notifier = notifier
    app.state.variants = variants
    billing.on_orphan = lambda hold: resolve_orphan(app.state, hold)

    modules = (generate, preview, status, cancel, presign, models, health)
    routers = [module.router for module in modules]
    if isinstance(store, LocalObjectStore):
        routers.append(store.router(variants))
    if dev_keys is not None:
        routers.append(build_dev_router(dev_keys))
    routers.append(build_convex_router(convex_db, limiter, config, prefix="/convex"))
    for router in routers:
        add_routes(app, router)
    return app


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """``router``'s routes, registered on the app itself as if declared with ``@app.get``
    (their tags and prefix were applied when they were declared).

    Not ``app.include_router``: since FastAPI 0.137 it keeps each router as a node that
    every request walks, scanning each one's candidates and counting its routes' version.
    With our ten routers that was ~0.1 ms of every call, more than a status poll's own
    database reads (docs/benchmarks.md, "Sixth pass")."""
    app.router.routes.extend(router.routes)
