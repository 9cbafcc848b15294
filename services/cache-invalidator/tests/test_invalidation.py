"""The invalidator on the in-process bus and fakeredis: exactly the affected entries go, nothing else."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from boardcast_contracts import ProjectEvent
from boardcast_messaging import InMemoryBroker
from boardcast_testkit import eventually, unique
from fakeredis import FakeAsyncRedis
from prometheus_client import REGISTRY
from redis.exceptions import ConnectionError as RedisConnectionError

from .conftest import Project, cached_keys, consumed, present, prime

U1, U2, U3, OTHER = (uuid.uuid4() for _ in range(4))


@pytest.fixture
async def bus() -> AsyncIterator[InMemoryBroker]:
    broker = InMemoryBroker(unique("ex"), grace=5.0)
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture
async def fake_redis() -> AsyncIterator[FakeAsyncRedis]:
    redis = FakeAsyncRedis()
    yield redis
    await redis.aclose()


@pytest.fixture
async def running(run_app: Any, bus: InMemoryBroker, fake_redis: FakeAsyncRedis) -> Any:
    return await run_app(
        queue=unique("ci"), broker=bus, redis=fake_redis, cache_invalidator_retry_delays=[0.1]
    )


async def deliver_twice(bus: InMemoryBroker, queue: str, event: ProjectEvent) -> None:
    before = consumed(queue)
    await bus.publisher.publish_event(event)
    await bus.publisher.publish_event(event)

    async def done() -> bool:
        return consumed(queue) - before >= 2

    await eventually(done, what="both deliveries handled")


A, B = Project(), Project()

CASES = [
    ("assignment: old and new assignee", lambda: A.assigned(U1, U2), {U1, U2}),
    ("unassignment: the old assignee", lambda: A.assigned(None, U2), {U2}),
    ("status to done: the assignee", lambda: A.status(U1, "in_progress", "done"), {U1}),
    ("status from done: the assignee", lambda: A.status(U1, "done", "todo"), {U1}),
    ("status between open ones: nobody", lambda: A.status(U1, "todo", "blocked"), set()),
    ("estimate change: the assignee", lambda: A.updated(U1, ["estimate_hours", "title"]), {U1}),
    ("title change: nobody", lambda: A.updated(U1, ["title", "description"]), set()),
    ("delete: every assignee in the cascade", lambda: A.deleted([U1, U3]), {U1, U3}),
    ("restore: every assignee in the cascade", lambda: A.restored(U2, [U2, U3]), {U2, U3}),
]


@pytest.mark.parametrize(("case", "make", "affected"), CASES, ids=[c[0] for c in CASES])
async def test_exactly_the_affected_entries_go_and_project_b_stays(
    running: Any,
    bus: InMemoryBroker,
    fake_redis: FakeAsyncRedis,
    case: str,
    make: Any,
    affected: set[uuid.UUID],
) -> None:
    users = (U1, U2, U3, OTHER)
    a_keys = {u: cached_keys(A.id, u) for u in users}
    b_only = {k for u in users for k in cached_keys(B.id, u)} - {k for ks in a_keys.values() for k in ks}
    everything = {k for ks in a_keys.values() for k in ks} | b_only
    await prime(fake_redis, everything)

    await deliver_twice(bus, running.settings.cache_invalidator_queue, make())

    gone = {k for u in affected for k in a_keys[u]}
    assert await present(fake_redis, everything) == everything - gone
    # Project B's entries (the users' per-project ones) are all still there.
    assert b_only <= await present(fake_redis, everything)


async def test_malformed_message_is_parked_and_the_consumer_carries_on(
    running: Any, bus: InMemoryBroker, fake_redis: FakeAsyncRedis
) -> None:
    queue = running.settings.cache_invalidator_queue
    await bus.publisher.publish(f"project.{A.id}.task_assigned", b"\xff\xfe", message_id="garbage")
    await prime(fake_redis, cached_keys(A.id, U1))
    await deliver_twice(bus, queue, A.assigned(U1, None))
    assert await present(fake_redis, cached_keys(A.id, U1)) == set()
    parked = await bus.parked(queue)
    assert [p.message_id for p in parked] == ["garbage"] and parked[0].reason.startswith("malformed")


async def test_redis_failure_is_retried_not_acked(
    running: Any, bus: InMemoryBroker, fake_redis: FakeAsyncRedis, monkeypatch: Any
) -> None:
    real_delete = fake_redis.delete
    calls = {"n": 0}

    async def flaky(*keys: str) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RedisConnectionError("Redis is down")
        return int(await real_delete(*keys))

    monkeypatch.setattr(fake_redis, "delete", flaky)
    keys = cached_keys(A.id, U1)
    await prime(fake_redis, keys)
    await bus.publisher.publish_event(A.assigned(U1, None))

    async def gone() -> bool:
        return await present(fake_redis, keys) == set()

    await eventually(gone, what="keys deleted on the retry")
    assert calls["n"] == 2
    assert await bus.parked(running.settings.cache_invalidator_queue) == []


async def test_staleness_metric_health_and_readiness(
    running: Any, bus: InMemoryBroker, fake_redis: FakeAsyncRedis
) -> None:
    c = running.client
    assert (await c.get("/healthz")).status_code == 200
    assert (await c.get("/readyz")).json() == {"status": "ready"}
    before = REGISTRY.get_sample_value("boardcast_cache_invalidation_staleness_seconds_count") or 0.0
    await deliver_twice(bus, running.settings.cache_invalidator_queue, A.assigned(U1, U2))
    after = REGISTRY.get_sample_value("boardcast_cache_invalidation_staleness_seconds_count") or 0.0
    assert after - before == 2
    text = (await c.get("/metrics")).text
    assert "boardcast_cache_invalidation_staleness_seconds_bucket" in text
    await fake_redis.aclose()
    await bus.stop()
    r = await c.get("/readyz")
    assert r.status_code == 503 and "broker" in r.json()["detail"]


async def test_graceful_shutdown_finishes_the_message_in_hand_and_leaves_the_rest_queued(
    run_app: Any, bus: InMemoryBroker, fake_redis: FakeAsyncRedis, monkeypatch: Any
) -> None:
    import asyncio

    queue = unique("ci")
    running = await run_app(queue=queue, broker=bus, redis=fake_redis, cache_invalidator_prefetch=1)
    real_delete = fake_redis.delete
    in_hand, release = asyncio.Event(), asyncio.Event()

    async def slow(*keys: str) -> int:
        in_hand.set()
        await release.wait()
        return int(await real_delete(*keys))

    monkeypatch.setattr(fake_redis, "delete", slow)
    users = [uuid.uuid4() for _ in range(3)]
    for u in users:
        await prime(fake_redis, cached_keys(A.id, u))
        await bus.publisher.publish_event(A.assigned(u, None))
    await asyncio.wait_for(in_hand.wait(), 5)

    stopping = asyncio.create_task(running.stop())
    await asyncio.sleep(0.1)  # the stop is under way and waiting for the message in hand
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, 10)
    assert await present(fake_redis, cached_keys(A.id, users[0])) == set()
    assert await bus.queue_depth(queue) == 2
    for u in users[1:]:
        assert await present(fake_redis, cached_keys(A.id, u)) == cached_keys(A.id, u)

    monkeypatch.setattr(fake_redis, "delete", real_delete)
    await run_app(queue=queue, broker=bus, redis=fake_redis)

    async def rest_done() -> bool:
        left = [await present(fake_redis, cached_keys(A.id, u)) for u in users]
        return left == [set(), set(), set()]

    await eventually(rest_done, what="the next instance handles the rest")
