"""Two replicas on RabbitMQ (or the in-process bus) and Redis: each client gets each event once, in order."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from boardcast_messaging import Broker, InMemoryBroker, create_broker
from boardcast_testkit import eventually, unique
from gwtesting import (
    Client,
    FakeMembership,
    GatewayFactory,
    comment_deleted,
    new_id,
    open_client,
    task_created,
)

pytestmark = pytest.mark.redis


async def _true(value: object) -> object:
    return value


@pytest.fixture
async def exchange_and_queue() -> tuple[str, str]:
    return unique("ex"), unique("gw-ingest")


@pytest.fixture(params=[pytest.param("rabbit", marks=pytest.mark.rabbitmq), "memory"])
async def backend(
    request: pytest.FixtureRequest, amqp_url: str, exchange_and_queue: tuple[str, str]
) -> AsyncIterator[tuple[Broker, dict[str, Any]]]:
    """(publisher, gateway settings): real RabbitMQ, or the in-process bus shared by both replicas."""
    exchange, queue = exchange_and_queue
    common: dict[str, Any] = {"ingest_enabled": True, "exchange": exchange, "ingest_queue": queue}
    if request.param == "rabbit":
        broker = create_broker(amqp_url, exchange=exchange, service="gateway-test-publisher")
        common["amqp_url"] = amqp_url
    else:
        broker = InMemoryBroker(exchange)
        common["broker"] = broker
        common["amqp_url"] = "memory://"  # settings want a URL in production mode; the instance is used
    await broker.start()
    yield broker, common
    await broker.stop()


async def test_two_replicas_concurrent_writes_every_client_in_order(
    gateways: GatewayFactory,
    membership: FakeMembership,
    backend: tuple[Broker, dict[str, Any]],
) -> None:
    publisher, common = backend
    a, b = await gateways(**common), await gateways(**common)
    await eventually(lambda: _true(a._consumer is not None and b._consumer is not None), what="consuming")
    rng = random.Random(11)
    projects = [new_id() for _ in range(3)]
    per_project = 120
    clients: dict[str, list[Client]] = {pid: [] for pid in projects}
    for pid in projects:
        for i in range(6):
            uid = new_id()
            membership.add(pid, uid)
            gw = (a, b)[i % 2]
            clients[pid].append(await open_client(gw, f"/ws/projects/{pid}", user_id=uid))
    for c in (c for cs in clients.values() for c in cs):
        await eventually(lambda c=c: _true(bool(c.frames)), what="hello")

    async def write(pid: str) -> None:
        for seq in range(1, per_project + 1):
            make = task_created if seq % 3 == 0 else comment_deleted
            await publisher.publisher.publish_event(make(pid, seq))
            if rng.random() < 0.2:
                await asyncio.sleep(0.001)

    # A late joiner on each replica resumes mid-stream while the writes run.
    writers = [asyncio.create_task(write(pid)) for pid in projects]
    await eventually(lambda: _true(all(len(clients[p][0].seqs()) >= 20 for p in projects)), timeout=20)
    late: dict[str, Client] = {}
    for pid in projects:
        uid = new_id()
        membership.add(pid, uid)
        late[pid] = await open_client(b, f"/ws/projects/{pid}?since=10", user_id=uid)
    await asyncio.gather(*writers)

    expected = list(range(1, per_project + 1))
    for pid in projects:
        for c in [*clients[pid], late[pid]]:
            await eventually(
                lambda c=c: _true(c.seqs()[-1:] == [per_project]), timeout=20, what="all delivered"
            )
        for c in clients[pid]:
            assert c.seqs() == expected
            assert {e["project_id"] for e in c.events()} == {pid}
        assert late[pid].seqs() == list(range(11, per_project + 1))
    ingested = a.metrics.events_ingested._value.get() + b.metrics.events_ingested._value.get()
    assert ingested == per_project * len(projects), "each event ingested once across replicas"
    for c in (c for cs in [*clients.values(), list(late.values())] for c in cs):
        await c.close()


async def test_reconnect_to_other_replica_with_since_misses_nothing(
    gateways: GatewayFactory,
    membership: FakeMembership,
    backend: tuple[Broker, dict[str, Any]],
) -> None:
    publisher, common = backend
    a, b = await gateways(**common), await gateways(**common)
    await eventually(lambda: _true(a._consumer is not None and b._consumer is not None), what="consuming")
    pid, uid = new_id(), new_id()
    membership.add(pid, uid)
    first = await open_client(a, f"/ws/projects/{pid}", user_id=uid)
    await eventually(lambda: _true(bool(first.frames)), what="hello")

    async def write() -> None:
        for seq in range(1, 201):
            await publisher.publisher.publish_event(comment_deleted(pid, seq))

    writer = asyncio.create_task(write())
    await eventually(lambda: _true(len(first.seqs()) >= 30), timeout=20, what="some events")
    await first.close()
    seen = first.seqs()
    second = await open_client(b, f"/ws/projects/{pid}?since={seen[-1]}", user_id=uid)
    await writer
    await eventually(lambda: _true(second.seqs()[-1:] == [200]), timeout=20, what="rest delivered")
    assert seen + second.seqs() == list(range(1, 201))
    assert second.frames[0]["instance"] == "gw-2"
    await second.close()
