"""The wake-up notifiers on their real engines: in-process, PostgreSQL LISTEN/NOTIFY (the
test cluster) and Redis pub/sub (a real redis-server).

Two notifier objects stand for two server processes: each has its own connections, so a
publish on one reaching a waiter of the other went through the database or Redis.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import psycopg
import pytest
import redis

from backend.storage.notify import HOLD, JOB, InProcessNotifier, Notifier, make_notifier
from backend.storage.notify_postgres import PostgresNotifier, conninfo
from backend.storage.notify_redis import RedisNotifier
from tests.integration.platform_fixtures import redis_url
from tests.postgres_cluster import PostgresCluster

__all__ = ["redis_url"]  # the fixture, re-exported so pytest finds it here

# Long enough that a wake-up that should come never passes for one that did.
WAKE_S = 10.0
KINDS = ["memory", "postgresql", "redis"]
Pair = tuple[Notifier, Notifier]


@pytest.fixture(params=KINDS)
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    """(publisher, waiter): two processes' notifiers on one backend (in-process: one)."""
    kind = request.param
    if kind == "memory":
        one = InProcessNotifier()
        await one.start()
        yield one, one
        await one.close()
        return
    make: Callable[[], Notifier]
    if kind == "postgresql":
        url = request.getfixturevalue("postgres_cluster").new_database()
        make = lambda: PostgresNotifier(url)  # noqa: E731
    else:
        url = request.getfixturevalue("redis_url")
        make = lambda: RedisNotifier(url)  # noqa: E731
    publisher, waiter = make(), make()
    await publisher.start()
    await waiter.start()
    yield publisher, waiter
    await publisher.close()
    await waiter.close()


async def test_a_publish_wakes_the_waiter_of_that_key_only(pair: Pair) -> None:
    publisher, waiter = pair
    async with waiter.listen(JOB, "job-1") as woken, waiter.listen(JOB, "job-2") as other:
        async with waiter.listen(HOLD, "job-1") as same_key_other_channel:
            await publisher.publish(JOB, "job-1")
            assert await woken.wait(WAKE_S) is True
            assert await other.wait(0.3) is False
            assert await same_key_other_channel.wait(0.0) is False


async def test_a_wait_with_nothing_published_times_out(pair: Pair) -> None:
    _, waiter = pair
    assert await waiter.wait(HOLD, "nobody-publishes", 0.2) is False
    assert waiter.waiters.count(HOLD, "nobody-publishes") == 0  # no listener left behind


async def test_a_change_published_before_the_wait_is_not_lost(pair: Pair) -> None:
    publisher, waiter = pair
    async with waiter.listen(HOLD, "h-early") as listener:
        await publisher.publish(HOLD, "h-early")  # between the waiter's read and its wait
        assert await listener.wait(WAKE_S) is True
        assert await listener.wait(0.0) is False  # consumed: the next wait waits again


async def test_many_waiters_on_one_key_all_wake(pair: Pair) -> None:
    publisher, waiter = pair
    woken: list[bool] = []
    ready = asyncio.Event()
    registered = 0

    async def one() -> None:
        nonlocal registered
        async with waiter.listen(JOB, "shared") as listener:
            registered += 1
            if registered == 25:
                ready.set()
            woken.append(await listener.wait(WAKE_S))

    tasks = [asyncio.create_task(one()) for _ in range(25)]
    await ready.wait()
    await publisher.publish(JOB, "shared")
    await asyncio.gather(*tasks)
    assert woken == [True] * 25


async def test_a_publish_from_a_worker_thread_wakes_the_waiter(pair: Pair) -> None:
    publisher, waiter = pair
    async with waiter.listen(JOB, "from-thread") as listener:
        thread = threading.Thread(target=publisher.publish_threadsafe, args=(JOB, "from-thread"))
        thread.start()
        thread.join()
        assert await listener.wait(WAKE_S) is True


async def test_an_unknown_channel_is_refused(pair: Pair) -> None:
    publisher, _ = pair
    with pytest.raises(ValueError, match="unknown wake-up channel"):
        await publisher.publish("jobs; DROP TABLE", "k")


async def test_postgres_listener_dropped_wakes_waiters_and_comes_back(
    postgres_cluster: PostgresCluster,
) -> None:
    url = postgres_cluster.new_database()
    publisher, waiter = PostgresNotifier(url), PostgresNotifier(url)
    await publisher.start()
    await waiter.start()
    try:
        async with waiter.listen(HOLD, "h-drop") as listener:
            assert waiter.connections == 1 and waiter.listener_pid is not None
            with psycopg.connect(conninfo(url), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (waiter.listener_pid,))
            # Woken by the drop itself: a notification may have been lost meanwhile.
            assert await listener.wait(WAKE_S) is True
            assert await waiter.listening(WAKE_S)  # cleared at the drop, set once back
            assert waiter.connections == 2
            await listener.wait(0.0)  # the reconnect's own wake-up
            await publisher.publish(HOLD, "h-drop")
            assert await listener.wait(WAKE_S) is True  # delivered on the new connection
    finally:
        await publisher.close()
        await waiter.close()


async def test_redis_subscription_dropped_wakes_waiters_and_comes_back(redis_url: str) -> None:
    publisher, waiter = RedisNotifier(redis_url), RedisNotifier(redis_url)
    await publisher.start()
    await waiter.start()
    try:
        async with waiter.listen(JOB, "j-drop") as listener:
            assert waiter.connections == 1
            admin = redis.Redis.from_url(redis_url)
            assert admin.client_kill_filter(_type="pubsub") >= 1
            admin.close()
            assert await listener.wait(WAKE_S) is True
            assert await waiter.listening(WAKE_S)
            assert waiter.connections == 2
            await listener.wait(0.0)
            await publisher.publish(JOB, "j-drop")
            assert await listener.wait(WAKE_S) is True
    finally:
        await publisher.close()
        await waiter.close()


@pytest.mark.parametrize("kind", ["postgresql", "redis"])
async def test_a_publish_to_an_unreachable_server_is_logged_not_raised(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    from backend.runner import free_port

    port = free_port()  # nothing listens there
    notifier: Notifier = (
        PostgresNotifier(f"postgresql+psycopg://nobody@127.0.0.1:{port}/none")
        if kind == "postgresql"
        else RedisNotifier(f"redis://127.0.0.1:{port}/0")
    )
    try:
        async with notifier.listen(JOB, "local") as listener:
            await notifier.publish(JOB, "local")
            # This process's waiters are still woken; the others rely on their recheck.
            assert await listener.wait(0.0) is True
        assert "not sent to other processes" in caplog.text
    finally:
        await notifier.close()


def test_the_notifier_follows_the_configuration() -> None:
    pg = "postgresql+psycopg://u@127.0.0.1:1/db"
    assert type(make_notifier(None, None)) is InProcessNotifier
    assert type(make_notifier("/tmp/x.sqlite3", "redis://127.0.0.1:1/0")) is InProcessNotifier
    assert type(make_notifier(pg, None)) is PostgresNotifier
    assert type(make_notifier(pg, "redis://127.0.0.1:1/0")) is RedisNotifier
    memory = InProcessNotifier(recheck_s=7.0)
    assert memory.recheck(0.05) == 0.05  # in-process: the caller's own poll, as before
    assert PostgresNotifier(pg, recheck_s=7.0).recheck(0.05) == 7.0


@pytest.mark.parametrize(
    ("name", "raw"),
    [("WAKEUP_RECHECK_S", "0"), ("WAKEUP_RECHECK_S", "soon"), ("LOCAL_QUEUE_S", "-1")],
)
def test_serve_refuses_a_bad_interval_in_one_line(
    name: str,
    raw: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from backend.server import serve_main

    monkeypatch.setenv(name, raw)
    assert serve_main(["--dev-auth", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"imagegen serve: {name} must be a number of seconds")
    assert len(err.splitlines()) == 1


def test_the_intervals_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from backend.config import BackendConfig

    for name, value in (("WAKEUP_RECHECK_S", "2.5"), ("LOCAL_QUEUE_S", "0"), ("LOCAL_SYNC_S", "3")):
        monkeypatch.setenv(name, value)
    config = BackendConfig.from_env(tmp_path, embedded=False)
    assert (config.wakeup_recheck_s, config.local_queue_s, config.local_sync_s) == (2.5, 0, 3)
    assert config.local_run_s == BackendConfig.local_run_s  # unset: the default
