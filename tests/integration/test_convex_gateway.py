"""The engine's ConvexGateway against the embedded host over real HTTP, plus the answer
variants of real deployments (those through respx, since a deployment is third-party)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx

from backend.auth.dev_keys import DevKeyPair
from backend.convex_host.invariants import check_invariants
from backend.runner import free_port
from gui.engine.convex_gateway import (
    ConvexAuthError,
    ConvexError,
    ConvexGateway,
    ConvexUnavailable,
    readable_error,
)
from gui.engine.convex_types import CreditResult, SlotResult
from tests.database_fixtures import BackendDatabases
from tests.integration.convex_support import Host, convex_host


class DevTokens:
    """Mints tokens like the embedded backend; the first one may be already expired."""

    def __init__(self, keys: DevKeyPair, sub: str, *, first_expired: bool = False) -> None:
        self.keys, self.sub = keys, sub
        self.expired_next = first_expired
        self.refreshes = 0

    async def token(self, force_refresh: bool = False) -> str:
        if force_refresh:
            self.refreshes += 1
            self.expired_next = False
        now = time.time() - 3600 if self.expired_next else None
        return self.keys.issue_token(self.sub, ttl_s=60, now=now)


class BadTokens:
    def __init__(self) -> None:
        self.calls = 0

    async def token(self, force_refresh: bool = False) -> str:
        self.calls += 1
        return DevKeyPair.generate().issue_token("intruder")


@pytest.fixture(scope="module")
def host(
    tmp_path_factory: pytest.TempPathFactory, backend_database: BackendDatabases
) -> Iterator[Host]:
    root = tmp_path_factory.mktemp("gateway-host")
    database = backend_database.url_for(root)
    with convex_host(root, starting_credits=100, slot_limit=2, database=database) as h:
        yield h


@pytest.fixture
async def gateway(host: Host) -> AsyncIterator[tuple[ConvexGateway, str]]:
    sub = f"gw_{uuid.uuid4().hex[:10]}"
    async with ConvexGateway(host.url, DevTokens(host.keys, sub)) as gw:
        yield gw, sub


async def test_full_generation_flow(host: Host, gateway: tuple[ConvexGateway, str]) -> None:
    gw, sub = gateway
    credits = await gw.get_user_credits()
    assert (credits.total_credits, credits.credits, credits.additional_credits) == (100, 100, 0)

    slot = await gw.acquire_generation_slot("a red fox")
    assert slot.ok and slot.generation_id
    reserve = await gw.reserve_credits(6)
    assert reserve == CreditResult(success=True)
    session_id = await gw.create_session("Foxes")
    tile_id = await gw.add_generation_to_session(
        session_id,
        prompt="a red fox",
        model="gpt-image-1",
        model_label="GPT Image",
        aspect_ratio="3:2",
        num_images=2,
        concurrency_slot_id=slot.generation_id,
        quality="high",
    )
    [tile] = await gw.get_session_generations(session_id)
    assert tile.id == tile_id and tile.is_loading and tile.num_images == 2
    assert tile.quality == "high" and tile.concurrency_slot_id == slot.generation_id
    assert check_invariants(host.db, sub, in_flight_slot_ids=[slot.generation_id]) == []

    await gw.update_generation(tile_id, external_request_id="req-1")
    urls = ["http://store/1.png", "http://store/2.png"]
    finished = time.time()  # seconds here; the gateway sends Convex milliseconds
    await gw.update_generation(tile_id, is_loading=False, images=urls, completed_at=finished)
    assert (await gw.capture_reserved_credits(6)).success
    await gw.update_generation_status(slot.generation_id, "completed", image_url=urls[0])
    assert check_invariants(host.db, sub) == []

    breakdown = await gw.get_user_credits_breakdown()
    assert (breakdown.total, breakdown.reserved, breakdown.available) == (94, 0, 94)
    [tile] = await gw.get_session_generations(session_id)
    assert tile.image_urls == urls and not tile.is_loading
    # Read back in seconds: one unit on this side of the gateway, both ways.
    assert tile.completed_at is not None and abs(tile.completed_at - finished) < 1
    assert abs(tile.created_at - finished) < 60
    assert tile.external_request_id == "req-1" and tile.error is None
    [summary] = await gw.get_user_sessions()
    assert summary.id == session_id and summary.preview == urls[0]

    assert await gw.toggle_favorite(tile_id, urls[1]) is True
    [tile] = await gw.get_session_generations(session_id)
    assert tile.favorite_image_urls == [urls[1]]
    await gw.delete_asset_media(tile_id, urls[0])
    [tile] = await gw.get_session_generations(session_id)
    assert tile.image_urls == [urls[1]]


async def test_limits_and_refusals(gateway: tuple[ConvexGateway, str]) -> None:
    gw, _ = gateway
    assert (await gw.acquire_generation_slot("1")).ok
    assert (await gw.acquire_generation_slot("2")).ok
    full = await gw.acquire_generation_slot("3")
    assert (full.ok, full.reason, full.limit, full.active) == (False, "limit_reached", 2, 2)
    assert full.message and "limit is 2" in full.message
    refused = await gw.reserve_credits(1000)
    assert not refused.success and refused.message and "Not enough credits" in refused.message
    await gw.release_reserved_credits(1)  # nothing reserved: stays at zero
    assert (await gw.get_user_credits_breakdown()).reserved == 0


async def test_errors_are_readable(host: Host, gateway: tuple[ConvexGateway, str]) -> None:
    gw, _ = gateway
    async with ConvexGateway(host.url, DevTokens(host.keys, "someone-else")) as other:
        session_id = await other.create_session("private")
    with pytest.raises(ConvexError, match=r"^Not authorized") as info:
        await gw.get_session_generations(session_id)
    assert info.value.path == "sessions:getSessionGenerations"
    with pytest.raises(ConvexError, match="Could not find public function"):
        await gw.query("missing:function")
    with pytest.raises(ConvexError, match="ArgumentValidationError"):
        await gw.get_session_generations("not-an-id")


async def test_expired_token_is_refreshed_once(host: Host) -> None:
    tokens = DevTokens(host.keys, f"gw_{uuid.uuid4().hex[:10]}", first_expired=True)
    async with ConvexGateway(host.url, tokens) as gw:
        assert (await gw.get_user_credits()).total_credits == 100
    assert tokens.refreshes == 1

    bad = BadTokens()
    async with ConvexGateway(host.url, bad) as gw:
        with pytest.raises(ConvexAuthError, match="Sign in again"):
            await gw.get_user_credits()
    assert bad.calls == 2  # the original try and one retry, no loop


async def test_unreachable_host_raises_unavailable(host: Host) -> None:
    url = f"http://127.0.0.1:{free_port()}/convex"
    async with ConvexGateway(url, DevTokens(host.keys, "x")) as gw:
        with pytest.raises(ConvexUnavailable, match="Could not reach Convex"):
            await gw.get_user_credits()


# -- variants a real deployment may answer (mocked: a deployment is a third party) ----------

DEPLOYMENT = "https://happy-animal-123.convex.cloud"


def success(value: object) -> httpx.Response:
    return httpx.Response(200, json={"status": "success", "value": value, "logLines": []})


async def test_real_deployment_answer_variants(host: Host) -> None:
    tokens = DevTokens(host.keys, "x")
    with respx.mock(base_url=DEPLOYMENT, assert_all_called=True) as mock:
        route = mock.post("/api/mutation")
        async with ConvexGateway(DEPLOYMENT, tokens) as gw:
            route.return_value = success("k57bare0slot0id")
            assert await gw.acquire_generation_slot("p") == SlotResult(
                ok=True, generation_id="k57bare0slot0id"
            )
            route.return_value = success({"success": False, "message": "Too busy"})
            slot = await gw.acquire_generation_slot("p")
            assert (slot.ok, slot.message) == (False, "Too busy")
            route.return_value = success(False)
            assert (await gw.reserve_credits(3)).success is False
            route.return_value = success(True)
            assert (await gw.reserve_credits(3)).success is True
            route.return_value = success(None)
            assert (await gw.capture_reserved_credits(3)).success is True
            route.return_value = httpx.Response(
                200,
                json={
                    "status": "error",
                    "errorMessage": "[Request ID: abc123] Server Error\n"
                    "Uncaught Error: Session not found\n"
                    "    at handler (../convex/sessions.ts:40:11)",
                    "logLines": [],
                },
            )
            with pytest.raises(ConvexError, match=r"^Session not found$"):
                await gw.create_session("x")
            route.return_value = httpx.Response(503, text="upstream down")
            with pytest.raises(ConvexUnavailable):
                await gw.create_session("x")
            sent = route.calls.last.request
            assert sent.headers["authorization"].startswith("Bearer ")


def test_readable_error_prefers_error_data() -> None:
    assert readable_error("Server Error", {"message": "Out of credits"}) == "Out of credits"
    assert readable_error("[Request ID: 1] Server Error\nUncaught ConvexError: Nope") == "Nope"
    assert readable_error("") == "The Convex function failed."
