"""The invalidator on real RabbitMQ and Redis: exact deletes, Redis outages retried, broker cuts survived."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from boardcast_messaging import Broker, create_broker
from boardcast_messaging.rabbit_admin import delete_topology
from boardcast_messaging.rabbit_consumer import topology_queues
from boardcast_testkit import TcpProxy, eventually, unique
from cache_invalidator.invalidate import consumer_spec
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from .conftest import Project, cached_keys, consumed, present, prime

pytestmark = [pytest.mark.rabbitmq, pytest.mark.redis]

U1, U2, U3 = (uuid.uuid4() for _ in range(3))
FAST_RETRIES = [0.2, 0.5, 1.0, 2.0, 5.0]


@pytest.fixture
async def stack(amqp_url: str, redis_url: str, run_app: Any) -> AsyncIterator[Any]:
    exchange, queues, written = unique("ex"), [], set()
    publisher = create_broker(amqp_url, exchange=exchange, service="ci-test")
    await publisher.start()
    redis = Redis.from_url(redis_url)

    async def start(
        *, amqp: str = amqp_url, redis_at: str = redis_url, queue: str | None = None, **more: Any
    ) -> Any:
        queue = queue or unique("ci")
        queues.append(queue)
        return await run_app(
            **more,
            queue=queue,
            env="production",
            amqp_url=amqp,
            redis_url=redis_at,
            exchange=exchange,
            cache_invalidator_retry_delays=FAST_RETRIES,
        )

    async def primed(keys: set[str]) -> set[str]:
        written.update(keys)
        await prime(redis, keys)
        return keys

    yield start, publisher, redis, primed
    if written:
        await redis.delete(*written)
    await publisher.stop()
    await redis.aclose()
    spec_queues = [q for queue in queues for q in topology_queues(consumer_spec(queue, 1, FAST_RETRIES))]
    await delete_topology(amqp_url, exchange, spec_queues)


async def deliver_twice(publisher: Broker, queue: str, *events: Any) -> None:
    before = consumed(queue)
    for event in events:
        await publisher.publisher.publish_event(event)
        await publisher.publisher.publish_event(event)

    async def done() -> bool:
        return consumed(queue) - before >= 2 * len(events)

    await eventually(done, timeout=15, what="all deliveries handled")


async def test_a_change_in_project_a_keeps_project_b_and_other_users(stack: Any) -> None:
    start, publisher, redis, primed = stack
    running = await start()
    a, b = Project(), Project()
    a_u1, a_u2, a_u3 = [await primed(cached_keys(a.id, u)) for u in (U1, U2, U3)]
    b_only = await primed({k for u in (U1, U2, U3) for k in cached_keys(b.id, u)} - a_u1 - a_u2 - a_u3)
    queue = running.settings.cache_invalidator_queue

    await deliver_twice(publisher, queue, a.assigned(U1, U2))
    assert await present(redis, a_u1 | a_u2) == set()
    assert await present(redis, a_u3 | b_only) == a_u3 | b_only

    await primed(a_u1 | a_u2)
    await deliver_twice(publisher, queue, a.deleted([U2, U3]), a.status(U1, "todo", "in_progress"))
    assert await present(redis, a_u2 | a_u3) == set()
    assert await present(redis, a_u1 | b_only) == a_u1 | b_only


async def test_redis_down_the_message_is_retried_and_the_keys_go_once_it_is_back(stack: Any) -> None:
    start, publisher, redis, primed = stack
    proxy = await TcpProxy("127.0.0.1", 6379).start()
    try:
        running = await start(redis_at=f"redis://{proxy.url_host_port}/0")
        queue = running.settings.cache_invalidator_queue
        a = Project()
        keys = await primed(cached_keys(a.id, U1))
        await proxy.cut()
        await publisher.publisher.publish_event(a.assigned(U1, None))

        def failures() -> float:
            return REGISTRY.get_sample_value("boardcast_messages_failed_total", {"queue": queue}) or 0.0

        async def failed_twice() -> bool:
            return failures() >= 2

        await eventually(failed_twice, timeout=15, what="the delete failed and was retried")
        assert await present(redis, keys) == keys
        await proxy.restore()

        async def gone() -> bool:
            return await present(redis, keys) == set()

        await eventually(gone, timeout=15, what="keys deleted once Redis is back")
        assert await publisher.parked(queue) == []  # type: ignore[attr-defined]
    finally:
        await proxy.stop()


async def test_malformed_is_parked_and_the_consumer_carries_on(stack: Any) -> None:
    start, publisher, redis, primed = stack
    running = await start()
    queue = running.settings.cache_invalidator_queue
    a = Project()
    await publisher.publisher.publish(
        f"project.{a.id}.task_deleted", b'{"type": "task_deleted"}', message_id="m1"
    )
    keys = await primed(cached_keys(a.id, U1))
    await deliver_twice(publisher, queue, a.deleted([U1]))
    assert await present(redis, keys) == set()

    async def parked() -> list[Any]:
        return await publisher.parked(queue)  # type: ignore[attr-defined,no-any-return]

    found = await eventually(parked, what="malformed message parked")
    assert [p.message_id for p in found] == ["m1"] and found[0].reason.startswith("malformed")


async def test_consuming_again_within_seconds_after_the_broker_connection_is_cut(stack: Any) -> None:
    start, publisher, redis, primed = stack
    proxy = await TcpProxy("127.0.0.1", 5672).start()
    try:
        running = await start(amqp=f"amqp://guest:guest@{proxy.url_host_port}/")
        queue = running.settings.cache_invalidator_queue
        a = Project()
        await deliver_twice(publisher, queue, a.assigned(U1, None))
        await proxy.cut()

        async def not_ready() -> bool:
            return (await running.client.get("/readyz")).status_code == 503

        await eventually(not_ready, timeout=15, what="/readyz reports the broker down")
        keys = await primed(cached_keys(a.id, U2))
        await publisher.publisher.publish_event(a.assigned(U2, None))
        await proxy.restore()
        restored = time.monotonic()

        async def gone() -> bool:
            return await present(redis, keys) == set()

        await eventually(gone, timeout=15, what="consuming again after the cut")
        assert time.monotonic() - restored < 10
        await running.stop()  # while the proxy still forwards, so the broker closes cleanly
    finally:
        await proxy.stop()


async def test_staleness_window_is_well_inside_the_freshness_rule(stack: Any) -> None:
    """SPEC §3: a read 1 s after the commit sees the new figure. Commit→delete must stay far below that."""
    start, publisher, _, primed = stack
    running = await start()
    queue = running.settings.cache_invalidator_queue
    a = Project()

    def observed() -> tuple[float, float]:
        name = "boardcast_cache_invalidation_staleness_seconds"
        return (
            REGISTRY.get_sample_value(f"{name}_count") or 0.0,
            REGISTRY.get_sample_value(f"{name}_bucket", {"le": "0.5"}) or 0.0,
        )

    count0, fast0 = observed()
    before = consumed(queue)
    for _ in range(30):
        await primed(cached_keys(a.id, U1))
        await publisher.publisher.publish_event(a.assigned(U1, None))

    async def done() -> bool:
        return consumed(queue) - before >= 30

    await eventually(done, timeout=15)
    count, fast = observed()
    assert count - count0 == 30
    assert fast - fast0 == 30, "every invalidation within 0.5 s of its commit"


async def test_graceful_shutdown_finishes_the_message_in_hand_and_the_rest_stay_queued(
    stack: Any, monkeypatch: Any
) -> None:
    import asyncio

    start, publisher, redis, primed = stack
    running = await start(cache_invalidator_prefetch=1)
    queue = running.settings.cache_invalidator_queue
    a, users = Project(), [uuid.uuid4() for _ in range(3)]
    for u in users:
        await primed(cached_keys(a.id, u))
    the_redis = running.app.state.redis
    real_delete, in_hand, release = the_redis.delete, asyncio.Event(), asyncio.Event()

    async def slow(*keys: str) -> int:
        in_hand.set()
        await release.wait()
        return int(await real_delete(*keys))

    monkeypatch.setattr(the_redis, "delete", slow)
    for u in users:
        await publisher.publisher.publish_event(a.assigned(u, None))
    await asyncio.wait_for(in_hand.wait(), 10)
    stopping = asyncio.create_task(running.stop())
    await asyncio.sleep(0.2)
    assert not stopping.done(), "the stop waits for the message in hand"
    release.set()
    await asyncio.wait_for(stopping, 15)
    assert await present(redis, cached_keys(a.id, users[0])) == set()
    assert await publisher.queue_depth(queue) == 2  # type: ignore[attr-defined]

    await start(queue=queue)

    async def rest_done() -> bool:
        return [await present(redis, cached_keys(a.id, u)) for u in users[1:]] == [set(), set()]

    await eventually(rest_done, timeout=15, what="the next instance handles the rest")
